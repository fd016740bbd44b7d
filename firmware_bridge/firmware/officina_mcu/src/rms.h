// Mains measurement the OpenEnergyMonitor (EmonLib) way, sampling continuously: a digital
// high-pass filter removes each ADC input's DC bias, RMS and real power are summed over whole
// mains cycles found by the voltage's rising zero crossings (or over a fixed number of samples
// at the nominal mains frequency when no voltage reference is fitted), and energy is integrated
// in fixed point so a counter that runs for months on a float-only MCU does not drift.
//
// Plain C++17, no Arduino headers, no heap.
#ifndef OFFICINA_RMS_H
#define OFFICINA_RMS_H

#include <stdint.h>

namespace officina {

constexpr uint8_t kMaxMeterChannels = 4;

// Follows the ADC's DC bias (the mid-rail divider) with a slow low-pass and subtracts it: a
// first-order high-pass. EmonLib uses the same 1/1024 step.
class DcBlocker {
 public:
  explicit DcBlocker(float initial_offset = 0.0f, float step = 1.0f / 1024.0f)
      : offset_(initial_offset), step_(step) {}
  float filter(float raw) {
    offset_ += (raw - offset_) * step_;
    return raw - offset_;
  }
  float offset() const { return offset_; }

 private:
  float offset_;
  float step_;
};

struct ChannelCalibration {
  float amps_per_count;  // EmonLib ICAL x (ADC reference volts / ADC counts)
  float phase_cal;       // EmonLib PHASECAL: 1.0 = no shift; corrects the CT's and the mux's lag
};

struct MeterConfig {
  uint8_t channels;             // CT channels, 1..kMaxMeterChannels
  bool voltage_fitted;          // an AC-AC adapter feeds the voltage input
  float adc_midpoint;           // the bias the filters start from: 512 (10-bit) or 2048 (12-bit)
  float volts_per_count;        // EmonLib VCAL x (ADC reference volts / ADC counts)
  ChannelCalibration calibration[kMaxMeterChannels];
  uint16_t cycles_per_window;   // mains cycles per reading: 50 at 50 Hz gives one a second
  uint16_t samples_per_cycle;   // the board's sample rate / nominal mains frequency
  uint16_t settle_cycles;       // cycles to let the filters settle after start-up, not reported
  float crossing_hysteresis;    // ADC counts the voltage must fall below zero before a new cycle
  float nominal_volts;          // without a voltage reference: watts = irms x nominal_volts
};

struct ChannelReading {
  float irms;
  bool has_vrms;
  float vrms;
  float watts;      // real power; apparent (irms x nominal volts) without a voltage reference
  uint16_t cycles;  // whole mains cycles in the window; 0 when the voltage never crossed zero
  uint32_t samples;
};

// Feeds on one sample set at a time; a reading per channel is ready whenever a window closes.
class MainsMeter {
 public:
  explicit MainsMeter(const MeterConfig& config);

  // One sample set: the voltage input (ignored when no reference is fitted) and one raw ADC value
  // per channel. Returns true when a window closed and reading() holds new values.
  bool add_sample(int16_t voltage_raw, const int16_t* current_raw);

  const ChannelReading& reading(uint8_t channel) const { return readings_[channel]; }
  const MeterConfig& config() const { return config_; }

 private:
  bool rising_crossing(float volts);
  void start_window();
  void close_window(uint16_t cycles);

  MeterConfig config_;
  DcBlocker voltage_filter_;
  DcBlocker current_filter_[kMaxMeterChannels];
  ChannelReading readings_[kMaxMeterChannels];
  float sum_i2_[kMaxMeterChannels];
  float sum_p_[kMaxMeterChannels];
  float sum_v2_;
  float last_volts_;
  uint32_t samples_;
  uint32_t waiting_samples_;
  uint32_t settle_samples_left_;
  uint16_t cycles_;
  bool armed_;        // the voltage has been below -hysteresis since the last crossing
  bool in_window_;    // a window has started at a crossing
};

// Cumulative energy of one channel in fixed point (watt-hours x 1000, exact integer sums). The
// magnitude of real power is counted, so a clamp fitted backwards still meters the machine.
class EnergyCounter {
 public:
  void add(float watts, uint32_t elapsed_ms);
  int64_t wh_milli() const { return static_cast<int64_t>(deciwatt_ms_ / 36000); }

 private:
  int64_t deciwatt_ms_ = 0;  // 1 mWh = 36 000 deciwatt-milliseconds
};

// Rounds a measured value to the wire's fixed point (`scale` = 10, 1000), half away from zero.
int64_t to_fixed(float value, int32_t scale);

}  // namespace officina

#endif  // OFFICINA_RMS_H
