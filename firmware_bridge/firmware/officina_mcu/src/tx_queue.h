// A fixed-size queue of outgoing lines, drained only as fast as the UART takes bytes, so sending
// a frame never blocks the sampling loop. A line is queued whole or not at all.
#ifndef OFFICINA_TX_QUEUE_H
#define OFFICINA_TX_QUEUE_H

#include <stddef.h>
#include <stdint.h>

namespace officina {

template <size_t Capacity>
class TxQueue {
 public:
  // Queues `length` bytes, or drops the whole line (counted) when there is no room.
  bool push(const char* line, size_t length) {
    if (length == 0) return true;
    if (length > Capacity - count_) {
      ++dropped_lines_;
      return false;
    }
    for (size_t i = 0; i < length; ++i) {
      bytes_[(head_ + count_ + i) % Capacity] = static_cast<uint8_t>(line[i]);
    }
    count_ += length;
    return true;
  }

  // Moves up to `max` queued bytes into `out`; returns how many.
  size_t take(uint8_t* out, size_t max) {
    size_t n = max < count_ ? max : count_;
    for (size_t i = 0; i < n; ++i) {
      out[i] = bytes_[head_];
      head_ = (head_ + 1) % Capacity;
    }
    count_ -= n;
    return n;
  }

  size_t pending() const { return count_; }
  size_t room() const { return Capacity - count_; }
  uint32_t dropped_lines() const { return dropped_lines_; }

 private:
  uint8_t bytes_[Capacity] = {};
  size_t head_ = 0;
  size_t count_ = 0;
  uint32_t dropped_lines_ = 0;
};

}  // namespace officina

#endif  // OFFICINA_TX_QUEUE_H
