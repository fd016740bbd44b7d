// The board's side of protocol v1; see board.h.
#include "board.h"

#include <string.h>

namespace officina {

char* format_unsigned(uint32_t value, char* out) {
  char reversed[10];
  uint8_t count = 0;
  do {
    reversed[count++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  uint8_t i = 0;
  while (count > 0) out[i++] = reversed[--count];
  out[i] = '\0';
  return out;
}

Board::Board(const BoardOptions& options, RelayDriver drive_relay)
    : firmware_(options.firmware),
      channels_(options.channels < 1 ? 1 : (options.channels > kMaxRelays ? kMaxRelays
                                                                          : options.channels)),
      host_silence_open_ms_(options.host_silence_open_ms),
      drive_relay_(drive_relay),
      last_heartbeat_ms_(0),
      last_host_frame_ms_(0),
      silence_handled_(false) {
  for (uint8_t c = 0; c < kMaxRelays; ++c) {
    relays_[c] = false;
    seq_[c] = 0;
  }
  line_[0] = '\0';
}

void Board::begin(uint32_t now_ms) {
  for (uint8_t c = 0; c < channels_; ++c) set_relay(c, false);
  last_heartbeat_ms_ = now_ms;
  last_host_frame_ms_ = now_ms;
  silence_handled_ = false;
  send_hello();
}

void Board::queue(size_t length) { outbox_.push(line_, length); }

void Board::send_hello() {
  Hello hello;
  memset(&hello, 0, sizeof hello);
  strncpy(hello.firmware, firmware_, sizeof hello.firmware - 1);
  hello.protocol = kProtocolVersion;
  hello.channels = channels_;
  queue(encode(hello, line_, sizeof line_));
}

void Board::send_error(const char* code, const char* detail) {
  DeviceError error;
  memset(&error, 0, sizeof error);
  strncpy(error.code, code, sizeof error.code - 1);
  strncpy(error.detail, detail, sizeof error.detail - 1);
  queue(encode(error, line_, sizeof line_));
}

void Board::set_relay(uint8_t channel, bool closed) {
  relays_[channel] = closed;
  if (drive_relay_ != nullptr) drive_relay_(channel, closed);
}

void Board::receive(uint8_t byte, uint32_t now_ms) {
  switch (parser_.feed(byte)) {
    case ParseEvent::kNone:
      return;
    case ParseEvent::kReject: {
      DeviceError error = error_for(parser_.reject());
      queue(encode(error, line_, sizeof line_));
      return;
    }
    case ParseEvent::kFrame:
      last_host_frame_ms_ = now_ms;
      silence_handled_ = false;
      handle(parser_.frame());
      return;
  }
}

void Board::handle(const Frame& frame) {
  char number[11];
  switch (frame.type) {
    case FrameType::kRelay: {
      const RelayCommand& command = frame.relay;
      if (command.channel >= channels_) {
        char detail[32] = "relay ";
        strcat(detail, format_unsigned(command.channel, number));
        strcat(detail, " seq ");
        strcat(detail, format_unsigned(command.seq, number));
        send_error("BAD_CHANNEL", detail);
        return;
      }
      set_relay(command.channel, command.closed);  // applied before the ACK says so
      RelayAck ack{command.channel, relays_[command.channel], command.seq};
      queue(encode(ack, line_, sizeof line_));
      return;
    }
    case FrameType::kPing: {
      send_hello();
      if (frame.ping.protocol != kProtocolVersion) {
        char detail[32] = "host v";
        strcat(detail, format_unsigned(frame.ping.protocol, number));
        strcat(detail, " device v");
        strcat(detail, format_unsigned(kProtocolVersion, number));
        send_error("VERSION", detail);
      }
      return;
    }
    case FrameType::kHello:
    case FrameType::kMeasurement:
    case FrameType::kCard:
    case FrameType::kAck:
    case FrameType::kHeartbeat:
    case FrameType::kError: {
      // a board-to-host frame coming back (an echoing adapter?): not something a board obeys
      send_error("UNKNOWN_TYPE", frame_type_name(frame.type));
      return;
    }
  }
}

void Board::tick(uint32_t now_ms) {
  if (now_ms - last_heartbeat_ms_ >= kHeartbeatPeriodMs) {
    last_heartbeat_ms_ = now_ms;
    queue(encode(Heartbeat{now_ms}, line_, sizeof line_));
  }
  if (host_silence_open_ms_ > 0 && !silence_handled_ &&
      now_ms - last_host_frame_ms_ >= host_silence_open_ms_) {
    silence_handled_ = true;
    for (uint8_t c = 0; c < channels_; ++c) set_relay(c, false);
    send_error("HOST_SILENT", "relays opened");
  }
}

void Board::send_measurement(uint8_t channel, const ChannelReading& reading, int64_t wh_milli) {
  if (channel >= channels_) return;
  Measurement m;
  memset(&m, 0, sizeof m);
  m.channel = channel;
  m.seq = seq_[channel]++;  // counts lines even when the queue drops one: the host sees the gap
  m.irms_milli = to_fixed(reading.irms < 0.0f ? 0.0f : reading.irms, 1000);
  m.has_vrms = reading.has_vrms;
  m.vrms_deci = to_fixed(reading.vrms < 0.0f ? 0.0f : reading.vrms, 10);
  m.watts_deci = to_fixed(reading.watts, 10);
  m.wh_milli = wh_milli;
  m.cycles = reading.cycles;
  queue(encode(m, line_, sizeof line_));
}

void Board::send_card(uint8_t reader, const char* uid) {
  CardRead card;
  memset(&card, 0, sizeof card);
  card.reader = reader;
  strncpy(card.uid, uid, sizeof card.uid - 1);
  queue(encode(card, line_, sizeof line_));
}

}  // namespace officina
