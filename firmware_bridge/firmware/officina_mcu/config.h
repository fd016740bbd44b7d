// officina_mcu board configuration: edit this file for your wiring and calibration.
// Every value can also be set from the build (arduino-cli --build-property
// "compiler.cpp.extra_flags=-DCHANNELS=2"), which is handy for several boards of one kind.
#ifndef OFFICINA_MCU_CONFIG_H
#define OFFICINA_MCU_CONFIG_H

// ----- what is fitted ----------------------------------------------------------------------------

#ifndef FIRMWARE_VERSION
#define FIRMWARE_VERSION "officina-1.0.0"  // HELLO's firmware field: 1-16 of [0-9A-Za-z._+-]
#endif

#ifndef CHANNELS
#define CHANNELS 1  // CT clamps, each with its own relay: 1..4
#endif

#ifndef VOLTAGE_FITTED
#define VOLTAGE_FITTED 1  // 1: an AC-AC adapter feeds VOLTAGE_PIN (real power); 0: CT only
#endif

#define READER_NONE 0
#define READER_RDM6300 1  // 125 kHz EM4100, 9600-baud UART
#define READER_RC522 2    // 13.56 MHz MIFARE, SPI, MFRC522 library
#ifndef CARD_READER
#define CARD_READER READER_RC522
#endif

#ifndef RELAY_ACTIVE_LOW
#define RELAY_ACTIVE_LOW 1  // most opto-isolated relay modules switch on when their input is LOW
#endif

// ----- mains and sampling ------------------------------------------------------------------------

#ifndef MAINS_HZ
#define MAINS_HZ 50
#endif

#ifndef NOMINAL_VOLTS
#define NOMINAL_VOLTS 230.0f  // CT only: watts are reported as Irms x this (apparent power)
#endif

// Sample sets (voltage + every CT) per mains cycle. An AVR's analogRead takes about 112 us, so
// with the voltage and four CTs 32 is its ceiling; an ESP32 manages 50 easily.
#ifndef SAMPLES_PER_CYCLE
#if defined(ARDUINO_ARCH_ESP32)
#define SAMPLES_PER_CYCLE 50
#else
#define SAMPLES_PER_CYCLE 32
#endif
#endif

#define CYCLES_PER_READING MAINS_HZ  // one M frame per channel a second

// ----- calibration (see README.md, "Calibration") ------------------------------------------------
// EmonLib's constants: ICAL = CT turns / burden ohms (amps per volt at the ADC pin),
// VCAL = mains volts per volt at the ADC pin, PHASECAL = 1.0 for no phase correction.

#if defined(ARDUINO_ARCH_ESP32)
#define ADC_BITS 12
#define ADC_REFERENCE_VOLTS 3.3f
#else
#define ADC_BITS 10
#define ADC_REFERENCE_VOLTS 5.0f  // 3.3f on a 3.3 V board
#endif

#ifndef VCAL
#define VCAL 268.97f  // 9 V AC-AC adapter with a 100k/10k divider, as OpenEnergyMonitor's emonTx
#endif
#if defined(ARDUINO_ARCH_ESP32)
static const float kIcal[] = {90.909f, 90.909f, 90.909f, 90.909f};  // SCT-013-000 on 22 ohms
#else
static const float kIcal[] = {60.606f, 60.606f, 60.606f, 60.606f};  // SCT-013-000 on 33 ohms
#endif
static const float kPhaseCal[] = {1.7f, 1.7f, 1.7f, 1.7f};

// ----- pins --------------------------------------------------------------------------------------

#if defined(ARDUINO_ARCH_ESP32)
// ADC1 pins only: ADC2 stops working whenever the radio is on.
static const uint8_t kVoltagePin = 36;
static const uint8_t kCurrentPins[] = {39, 34, 35, 32};
static const uint8_t kRelayPins[] = {25, 26, 27, 13};  // no strapping pin, none that pulses at boot
static const uint8_t kRdm6300RxPin = 16;  // the RDM6300's TX, on Serial2
static const uint8_t kRc522SsPin = 5;     // VSPI: SCK 18, MISO 19, MOSI 23
static const uint8_t kRc522ResetPin = 22;
#else
static const uint8_t kVoltagePin = A0;
static const uint8_t kCurrentPins[] = {A1, A2, A3, A4};
static const uint8_t kRelayPins[] = {4, 5, 6, 7};
static const uint8_t kRdm6300RxPin = 8;  // SoftwareSerial RX; TX is not connected
static const uint8_t kRdm6300TxPin = 3;
static const uint8_t kRc522SsPin = 10;   // SPI: SCK 13, MISO 12, MOSI 11
static const uint8_t kRc522ResetPin = 9;
#endif

// ----- the link ----------------------------------------------------------------------------------

#define HOST_BAUD 115200

// Open every relay when no valid frame came from the host for this long (PROTOCOL.md v1: the host
// sends a PING keep-alive every second, so only a dead gateway goes this quiet); 0 disables it.
#ifndef HOST_SILENCE_OPEN_MS
#define HOST_SILENCE_OPEN_MS 10000
#endif

#define CARD_GONE_MS 1000  // a card must be away this long before it counts again
#define RC522_POLL_MS 200  // each poll pauses sampling a few ms; see README.md

#endif  // OFFICINA_MCU_CONFIG_H
