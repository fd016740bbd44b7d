// What the board says and does on the serial line, apart from the hardware: introduce itself,
// answer RELAY and PING, reject bad host lines with ERR, send heartbeats, measurements and cards.
// Plain C++17, no Arduino headers; the sketch supplies the relay pins and the clock.
#ifndef OFFICINA_BOARD_H
#define OFFICINA_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "protocol.h"
#include "rms.h"
#include "tx_queue.h"

namespace officina {

constexpr uint8_t kMaxRelays = 4;
#if defined(__AVR__)
constexpr size_t kTxQueueBytes = 160;  // 2 KB of RAM: the sketch queues one M line at a time
#else
constexpr size_t kTxQueueBytes = 320;  // every channel's M line, an ACK and an ERR at once
#endif
constexpr uint32_t kHeartbeatPeriodMs = 1000;  // PROTOCOL.md: never silent for more than 2 s

using Outbox = TxQueue<kTxQueueBytes>;

// Drives one relay output; `closed` true lets the machine run.
using RelayDriver = void (*)(uint8_t channel, bool closed);

struct BoardOptions {
  const char* firmware;           // HELLO's firmware field
  uint8_t channels;               // CT/relay channels, 1..kMaxRelays
  uint32_t host_silence_open_ms;  // 0: relays stay as they are when the host goes quiet
};

class Board {
 public:
  Board(const BoardOptions& options, RelayDriver drive_relay);

  // Power-up: every relay open (a board that resets leaves its machines locked), then HELLO.
  void begin(uint32_t now_ms);
  // One byte from the host.
  void receive(uint8_t byte, uint32_t now_ms);
  // Called often: heartbeats and, when enabled, the host-silence guard.
  void tick(uint32_t now_ms);

  void send_measurement(uint8_t channel, const ChannelReading& reading, int64_t wh_milli);
  void send_card(uint8_t reader, const char* uid);

  Outbox& outbox() { return outbox_; }
  bool relay_closed(uint8_t channel) const { return channel < channels_ && relays_[channel]; }
  const ParserCounters& counters() const { return parser_.counters(); }

 private:
  void handle(const Frame& frame);
  void set_relay(uint8_t channel, bool closed);
  void send_error(const char* code, const char* detail);
  void send_hello();
  void queue(size_t length);

  const char* firmware_;
  uint8_t channels_;
  uint32_t host_silence_open_ms_;
  RelayDriver drive_relay_;
  bool relays_[kMaxRelays];
  uint32_t seq_[kMaxRelays];
  uint32_t last_heartbeat_ms_;
  uint32_t last_host_frame_ms_;
  bool silence_handled_;
  LineParser parser_;
  Outbox outbox_;
  char line_[kLineBuffer];
};

// Text of an unsigned number into `out` (at least 11 bytes); returns `out`.
char* format_unsigned(uint32_t value, char* out);

}  // namespace officina

#endif  // OFFICINA_BOARD_H
