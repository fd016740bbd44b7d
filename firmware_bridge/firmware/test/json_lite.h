// Just enough JSON for the shared test vectors (host tests only): objects, arrays, strings with
// \uXXXX escapes below U+0100 (one byte each), numbers kept as their exact text, true/false/null.
#ifndef OFFICINA_TEST_JSON_LITE_H
#define OFFICINA_TEST_JSON_LITE_H

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace json_lite {

struct Value {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = Kind::kNull;
  bool boolean = false;
  std::string text;  // a string's bytes, or a number exactly as written
  std::vector<Value> items;
  std::vector<std::pair<std::string, Value>> members;

  const Value& operator[](const std::string& key) const {
    for (const auto& member : members) {
      if (member.first == key) return member.second;
    }
    throw std::runtime_error("no key " + key);
  }
  bool has(const std::string& key) const {
    for (const auto& member : members) {
      if (member.first == key) return true;
    }
    return false;
  }
  bool is_null() const { return kind == Kind::kNull; }
};

class Reader {
 public:
  explicit Reader(const std::string& text) : text_(text) {}

  Value document() {
    Value value = parse();
    skip_space();
    if (pos_ != text_.size()) fail("trailing text");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("json: " + what + " at offset " + std::to_string(pos_));
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\t')) {
      ++pos_;
    }
  }

  char peek() {
    skip_space();
    if (pos_ >= text_.size()) fail("unexpected end");
    return text_[pos_];
  }

  void expect(char c) {
    if (peek() != c) fail(std::string("expected ") + c);
    ++pos_;
  }

  bool literal(const char* word) {
    std::string w(word);
    if (text_.compare(pos_, w.size(), w) == 0) {
      pos_ += w.size();
      return true;
    }
    return false;
  }

  Value parse() {
    Value value;
    char c = peek();
    if (c == '{') {
      value.kind = Value::Kind::kObject;
      ++pos_;
      if (peek() == '}') {
        ++pos_;
        return value;
      }
      for (;;) {
        std::string key = string();
        expect(':');
        value.members.emplace_back(key, parse());
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect('}');
        return value;
      }
    }
    if (c == '[') {
      value.kind = Value::Kind::kArray;
      ++pos_;
      if (peek() == ']') {
        ++pos_;
        return value;
      }
      for (;;) {
        value.items.push_back(parse());
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        expect(']');
        return value;
      }
    }
    if (c == '"') {
      value.kind = Value::Kind::kString;
      value.text = string();
      return value;
    }
    if (literal("true")) {
      value.kind = Value::Kind::kBool;
      value.boolean = true;
      return value;
    }
    if (literal("false")) {
      value.kind = Value::Kind::kBool;
      return value;
    }
    if (literal("null")) return value;
    size_t start = pos_;
    while (pos_ < text_.size() && std::string("+-0123456789.eE").find(text_[pos_]) !=
                                      std::string::npos) {
      ++pos_;
    }
    if (start == pos_) fail("unexpected character");
    value.kind = Value::Kind::kNumber;
    value.text = text_.substr(start, pos_ - start);
    return value;
  }

  std::string string() {
    expect('"');
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) fail("bad escape");
      char e = text_[pos_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case '"': case '\\': case '/': out += e; break;
        case 'u': {
          if (pos_ + 4 > text_.size()) fail("bad \\u escape");
          unsigned long code = std::stoul(text_.substr(pos_, 4), nullptr, 16);
          pos_ += 4;
          if (code > 0xFF) fail("\\u escape above U+00FF");
          out += static_cast<char>(code);
          break;
        }
        default: fail("bad escape");
      }
    }
    expect('"');
    return out;
  }

  const std::string& text_;
  size_t pos_ = 0;
};

// A JSON string literal for `bytes`, every byte outside printable ASCII as \u00XX.
inline std::string quote(const std::string& bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : bytes) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c > 0x7E) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace json_lite

#endif  // OFFICINA_TEST_JSON_LITE_H
