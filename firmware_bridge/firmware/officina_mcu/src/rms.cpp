// Cycle-based RMS, real power and energy; see rms.h for the method.
#include "rms.h"

#include <math.h>

namespace officina {

MainsMeter::MainsMeter(const MeterConfig& config)
    : config_(config),
      voltage_filter_(config.adc_midpoint),
      sum_v2_(0.0f),
      last_volts_(0.0f),
      samples_(0),
      waiting_samples_(0),
      settle_samples_left_(static_cast<uint32_t>(config.settle_cycles) * config.samples_per_cycle),
      cycles_(0),
      armed_(false),
      in_window_(false) {
  if (config_.channels > kMaxMeterChannels) config_.channels = kMaxMeterChannels;
  if (config_.cycles_per_window == 0) config_.cycles_per_window = 1;
  if (config_.samples_per_cycle == 0) config_.samples_per_cycle = 1;
  for (uint8_t c = 0; c < kMaxMeterChannels; ++c) {
    current_filter_[c] = DcBlocker(config.adc_midpoint);
    readings_[c] = ChannelReading{0.0f, false, 0.0f, 0.0f, 0, 0};
    sum_i2_[c] = 0.0f;
    sum_p_[c] = 0.0f;
  }
}

// Schmitt trigger on the filtered voltage, so noise near zero never counts a cycle twice.
bool MainsMeter::rising_crossing(float volts) {
  if (volts < -config_.crossing_hysteresis) armed_ = true;
  if (armed_ && volts >= 0.0f) {
    armed_ = false;
    return true;
  }
  return false;
}

void MainsMeter::start_window() {
  in_window_ = true;
  samples_ = 0;
  cycles_ = 0;
  sum_v2_ = 0.0f;
  for (uint8_t c = 0; c < config_.channels; ++c) {
    sum_i2_[c] = 0.0f;
    sum_p_[c] = 0.0f;
  }
}

void MainsMeter::close_window(uint16_t cycles) {
  float n = static_cast<float>(samples_ > 0 ? samples_ : 1);
  float vrms = config_.volts_per_count * sqrtf(sum_v2_ / n);
  for (uint8_t c = 0; c < config_.channels; ++c) {
    const ChannelCalibration& cal = config_.calibration[c];
    ChannelReading& r = readings_[c];
    r.irms = cal.amps_per_count * sqrtf(sum_i2_[c] / n);
    r.has_vrms = config_.voltage_fitted;
    r.vrms = config_.voltage_fitted ? vrms : 0.0f;
    r.watts = config_.voltage_fitted ? config_.volts_per_count * cal.amps_per_count * sum_p_[c] / n
                                     : r.irms * config_.nominal_volts;
    r.cycles = cycles;
    r.samples = samples_;
  }
  start_window();
}

bool MainsMeter::add_sample(int16_t voltage_raw, const int16_t* current_raw) {
  float volts = config_.voltage_fitted ? voltage_filter_.filter(voltage_raw) : 0.0f;
  float amps[kMaxMeterChannels];
  for (uint8_t c = 0; c < config_.channels; ++c) amps[c] = current_filter_[c].filter(current_raw[c]);

  if (settle_samples_left_ > 0) {
    --settle_samples_left_;
    if (config_.voltage_fitted) rising_crossing(volts);
    last_volts_ = volts;
    return false;
  }

  bool closed = false;
  bool crossed = config_.voltage_fitted && rising_crossing(volts);
  if (!in_window_) {
    // The first window starts at a crossing; a reference that never crosses (adapter unplugged)
    // must not stall readings, so after one cycle's worth of samples it starts anyway.
    if (crossed || !config_.voltage_fitted || ++waiting_samples_ >= config_.samples_per_cycle) {
      start_window();
    } else {
      last_volts_ = volts;
      return false;
    }
  } else if (crossed && ++cycles_ >= config_.cycles_per_window) {
    close_window(cycles_);  // this crossing's sample opens the next window: none is lost
    closed = true;
  }

  sum_v2_ += volts * volts;
  for (uint8_t c = 0; c < config_.channels; ++c) {
    float shifted_volts = last_volts_ + config_.calibration[c].phase_cal * (volts - last_volts_);
    sum_i2_[c] += amps[c] * amps[c];
    sum_p_[c] += shifted_volts * amps[c];
  }
  last_volts_ = volts;
  ++samples_;

  const uint32_t nominal =
      static_cast<uint32_t>(config_.cycles_per_window) * config_.samples_per_cycle;
  if (!config_.voltage_fitted && samples_ >= nominal) {
    close_window(config_.cycles_per_window);
    closed = true;
  } else if (config_.voltage_fitted && samples_ >= nominal + nominal / 2) {
    close_window(cycles_);  // mains off or adapter unplugged: report what there is
    closed = true;
  }
  return closed;
}

void EnergyCounter::add(float watts, uint32_t elapsed_ms) {
  int64_t deciwatts = to_fixed(watts, 10);
  if (deciwatts < 0) deciwatts = -deciwatts;
  deciwatt_ms_ += deciwatts * static_cast<int64_t>(elapsed_ms);
}

int64_t to_fixed(float value, int32_t scale) {
  float scaled = value * static_cast<float>(scale);
  if (!(scaled == scaled)) return 0;  // NaN: nothing measured
  const float kLimit = 1e15f;          // far beyond any field's 9 integer digits
  if (scaled > kLimit) scaled = kLimit;
  if (scaled < -kLimit) scaled = -kLimit;
  // avr-libc has no llround; the cast truncates toward zero, so add the half first
  return static_cast<int64_t>(scaled >= 0.0f ? scaled + 0.5f : scaled - 0.5f);
}

}  // namespace officina
