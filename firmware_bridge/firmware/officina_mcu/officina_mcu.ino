// officina_mcu: one machine's board. Samples the CT clamps (and the AC-AC adapter) continuously,
// reads an RFID reader, drives the interlock relays and speaks officina serial protocol v1 to the
// gateway over USB serial. ESP32 and AVR (ATmega328P and up); configuration in config.h.
//
// Everything but the pins lives in src/ as plain C++ that the host tests compile too: what this
// file adds is the hardware.
#include <Arduino.h>

#include "config.h"
#include "src/board.h"
#include "src/protocol.h"
#include "src/rfid.h"
#include "src/rms.h"

#if CARD_READER == READER_RC522
#include <SPI.h>
#include <MFRC522.h>
#elif CARD_READER == READER_RDM6300 && !defined(ARDUINO_ARCH_ESP32)
#include <SoftwareSerial.h>
#endif

#if CHANNELS < 1 || CHANNELS > 4
#error "CHANNELS must be 1..4"
#endif

namespace {

using officina::Board;
using officina::BoardOptions;
using officina::CardPresence;
using officina::ChannelReading;
using officina::EnergyCounter;
using officina::MainsMeter;
using officina::MeterConfig;

const float kAdcCounts = static_cast<float>(1UL << ADC_BITS);
const uint32_t kSamplePeriodUs = 1000000UL / (MAINS_HZ * SAMPLES_PER_CYCLE);
const uint8_t kMaxBytesPerLoop = 16;  // host bytes handled between two samples

void drive_relay(uint8_t channel, bool closed) {
  bool high = closed != (RELAY_ACTIVE_LOW != 0);
  digitalWrite(kRelayPins[channel], high ? HIGH : LOW);
}

MeterConfig make_meter_config() {
  MeterConfig config;
  memset(&config, 0, sizeof config);
  config.channels = CHANNELS;
  config.voltage_fitted = VOLTAGE_FITTED != 0;
  config.adc_midpoint = kAdcCounts / 2.0f;
  config.volts_per_count = VCAL * ADC_REFERENCE_VOLTS / kAdcCounts;
  for (uint8_t c = 0; c < CHANNELS; ++c) {
    config.calibration[c].amps_per_count = kIcal[c] * ADC_REFERENCE_VOLTS / kAdcCounts;
    config.calibration[c].phase_cal = kPhaseCal[c];
  }
  config.cycles_per_window = CYCLES_PER_READING;
  config.samples_per_cycle = SAMPLES_PER_CYCLE;
  config.settle_cycles = 2 * MAINS_HZ;                 // two seconds for the DC filters
  config.crossing_hysteresis = kAdcCounts / 200.0f;   // about 0.5 % of full scale
  config.nominal_volts = NOMINAL_VOLTS;
  return config;
}

Board board(BoardOptions{FIRMWARE_VERSION, CHANNELS, HOST_SILENCE_OPEN_MS}, drive_relay);
MainsMeter meter(make_meter_config());
EnergyCounter energy[CHANNELS];
CardPresence card_presence(CARD_GONE_MS);
uint32_t next_sample_us = 0;
uint32_t last_reading_ms = 0;
uint8_t readings_to_send = 0;  // one bit per channel whose M line waits for room in the outbox

#if CARD_READER == READER_RC522
MFRC522 rc522(kRc522SsPin, kRc522ResetPin);
uint32_t last_poll_ms = 0;
#elif CARD_READER == READER_RDM6300
officina::Rdm6300Decoder rdm6300;
#if defined(ARDUINO_ARCH_ESP32)
HardwareSerial& rdm_serial = Serial2;
#else
SoftwareSerial rdm_serial(kRdm6300RxPin, kRdm6300TxPin);
#endif
#endif

void card_seen(const char* uid, uint32_t now_ms) {
  if (card_presence.seen(uid, now_ms)) board.send_card(0, uid);
}

void setup_card_reader() {
#if CARD_READER == READER_RC522
  SPI.begin();
  rc522.PCD_Init();
  // The receive timeout bounds how long a poll without a card stalls sampling: 10 ms instead of
  // the library's 25 ms (timer at 40 kHz, reload 400). A card answers within a millisecond.
  rc522.PCD_WriteRegister(MFRC522::TReloadRegH, 0x01);
  rc522.PCD_WriteRegister(MFRC522::TReloadRegL, 0x90);
#elif CARD_READER == READER_RDM6300
#if defined(ARDUINO_ARCH_ESP32)
  rdm_serial.begin(9600, SERIAL_8N1, kRdm6300RxPin, -1);
#else
  rdm_serial.begin(9600);
#endif
#endif
}

void poll_card_reader(uint32_t now_ms) {
#if CARD_READER == READER_RC522
  if (now_ms - last_poll_ms < RC522_POLL_MS) return;
  last_poll_ms = now_ms;
  // WUPA wakes halted cards too, so a card left on the reader keeps being seen and counts once.
  byte atqa[2];
  byte atqa_size = sizeof atqa;
  MFRC522::StatusCode status = rc522.PICC_WakeupA(atqa, &atqa_size);
  if (status != MFRC522::STATUS_OK && status != MFRC522::STATUS_COLLISION) return;
  if (rc522.PICC_ReadCardSerial()) {
    char uid[33];
    if (officina::uid_to_hex(rc522.uid.uidByte, rc522.uid.size, uid, sizeof uid)) {
      card_seen(uid, now_ms);
    }
  }
  rc522.PICC_HaltA();
#elif CARD_READER == READER_RDM6300
  while (rdm_serial.available() > 0) {
    if (rdm6300.feed(static_cast<uint8_t>(rdm_serial.read()))) card_seen(rdm6300.uid(), now_ms);
  }
#else
  (void)now_ms;
#endif
}

void take_sample() {
  int16_t volts = VOLTAGE_FITTED ? static_cast<int16_t>(analogRead(kVoltagePin)) : 0;
  int16_t amps[CHANNELS];
  for (uint8_t c = 0; c < CHANNELS; ++c) amps[c] = static_cast<int16_t>(analogRead(kCurrentPins[c]));
  if (!meter.add_sample(volts, amps)) return;
  uint32_t now_ms = millis();
  // energy uses the board's clock, so time spent not sampling (a card poll) is still counted
  uint32_t elapsed_ms = now_ms - last_reading_ms;
  last_reading_ms = now_ms;
  for (uint8_t c = 0; c < CHANNELS; ++c) energy[c].add(meter.reading(c).watts, elapsed_ms);
  readings_to_send = (1U << CHANNELS) - 1;
}

// One M line at a time, when it fits: an AVR's small outbox still carries every channel.
void queue_readings() {
  for (uint8_t c = 0; c < CHANNELS && readings_to_send != 0; ++c) {
    if ((readings_to_send & (1U << c)) == 0) continue;
    if (board.outbox().room() < officina::kMaxLine) return;
    board.send_measurement(c, meter.reading(c), energy[c].wh_milli());
    readings_to_send &= static_cast<uint8_t>(~(1U << c));
  }
}

// Writes only what the UART buffer takes now, so a frame never blocks sampling.
void send_pending() {
  int room = Serial.availableForWrite();
  if (room <= 0 || board.outbox().pending() == 0) return;
  uint8_t chunk[32];
  size_t n = board.outbox().take(chunk, room < static_cast<int>(sizeof chunk)
                                            ? static_cast<size_t>(room) : sizeof chunk);
  Serial.write(chunk, n);
}

}  // namespace

void setup() {
  // Relays first: the open level is written before the pin becomes an output, so a reset never
  // pulses a relay closed.
  for (uint8_t c = 0; c < CHANNELS; ++c) {
    drive_relay(c, false);
    pinMode(kRelayPins[c], OUTPUT);
    drive_relay(c, false);
  }
#if defined(ARDUINO_ARCH_ESP32)
  analogReadResolution(ADC_BITS);
#endif
  Serial.begin(HOST_BAUD);
  setup_card_reader();
  uint32_t now_ms = millis();
  last_reading_ms = now_ms;
  board.begin(now_ms);  // opens every relay (again) and queues HELLO
  next_sample_us = micros();
}

void loop() {
  uint32_t now_us = micros();
  if (static_cast<int32_t>(now_us - next_sample_us) >= 0) {
    take_sample();
    next_sample_us += kSamplePeriodUs;
    // fell behind (a card poll): skip the missed samples rather than rush them
    if (static_cast<int32_t>(now_us - next_sample_us) >= 0) next_sample_us = now_us + kSamplePeriodUs;
  }
  uint32_t now_ms = millis();
  for (uint8_t i = 0; i < kMaxBytesPerLoop && Serial.available() > 0; ++i) {
    board.receive(static_cast<uint8_t>(Serial.read()), now_ms);
  }
  poll_card_reader(now_ms);
  board.tick(now_ms);
  queue_readings();
  send_pending();
}
