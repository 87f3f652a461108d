// Go's regexp on RE2 (regexp.h): the pattern is adjusted where RE2 20220601 reads it otherwise
// than Go, RE2's errors are told in Go's words, and the input is matched as Go reads it.
#include "opa/regexp.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <optional>
#include <string>

namespace kw::opa {
namespace {

using Span = Regexp::Span;
constexpr size_t npos = std::string_view::npos;

// RE2's memory budget for one pattern (its default, stated here because it is the bound the
// regex builtins promise): the compiled program and the automata's caches. A pattern whose
// program does not fit is refused; a search whose cache fills up goes on more slowly.
constexpr int64_t kMaxMem = 8 << 20;

// Width of the valid UTF-8 character at s[i], or 0 where Go decodes an invalid byte (U+FFFD).
size_t utf8Width(std::string_view s, size_t i) {
  uint8_t c0 = uint8_t(s[i]);
  if (c0 < 0x80) return 1;
  size_t len = c0 >= 0xf0 ? 4 : c0 >= 0xe0 ? 3 : c0 >= 0xc2 ? 2 : 0;
  if (len == 0 || c0 > 0xf4 || i + len > s.size()) return 0;
  uint32_t r = c0 & (0xff >> (len + 1));
  for (size_t k = 1; k < len; ++k) {
    uint8_t b = uint8_t(s[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    r = r << 6 | (b & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (r < kMin[len] || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return 0;
  return len;
}

std::optional<size_t> firstInvalidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t w = utf8Width(s, i);
    if (w == 0) return i;
    i += w;
  }
  return std::nullopt;
}

// --- the pattern ----------------------------------------------------------------------------

// The pattern as RE2 must read it to mean what Go reads. Every change keeps the length except
// the 'P' added to Go 1.22's (?<name>, whose positions map RE2's error arguments back.
struct Translation {
  std::string text;
  std::vector<size_t> inserted;  // offsets in `text` of the added 'P's
};

// One past the class that starts at p[i] == '[', delimited as Go's parser does: a ']' right
// after '[' or '[^' is literal; [:name:] and escapes are stepped over whole.
size_t classEnd(std::string_view p, size_t i) {
  size_t j = i + 1;
  if (j < p.size() && p[j] == '^') ++j;
  for (bool first = true; j < p.size(); first = false) {
    if (p[j] == ']' && !first) return j + 1;
    size_t named = p.substr(j).starts_with("[:") ? p.find(":]", j + 2) : npos;
    j = named != npos ? named + 2 : j + (p[j] == '\\' ? 2 : 1);
  }
  return p.size();
}

bool goCaptureName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  });
}

// A named group at p[i]: "(?<" becomes RE2's "(?P<". Returns where scanning goes on.
size_t translateName(std::string_view p, size_t i, Translation& t) {
  bool python = p.substr(i).starts_with("(?P<");
  t.text += "(?";
  if (!python) t.inserted.push_back(t.text.size());
  t.text += "P<";
  size_t name_at = i + (python ? 4 : 3);
  size_t close = p.find('>', name_at);
  if (close == npos) return name_at;  // RE2 refuses it, as Go does
  std::string_view name = p.substr(name_at, close - name_at);
  // RE2 also takes non-ASCII letters in a name, Go does not: dashes make RE2 refuse it too.
  bool refuse = !goCaptureName(name) && !firstInvalidUtf8(name);
  t.text += refuse ? std::string(name.size(), '-') : std::string(name);
  t.text += '>';
  return close + 1;
}

Translation translate(std::string_view p) {
  Translation t;
  t.text.reserve(p.size() + 4);
  for (size_t i = 0; i < p.size();) {
    std::string_view rest = p.substr(i);
    size_t next = i + 1;
    if (rest.starts_with("\\Q")) {  // literal text up to \E: nothing in it is syntax
      size_t end = p.find("\\E", i + 2);
      next = end == npos ? p.size() : end + 2;
    } else if (rest.starts_with("\\C")) {  // any byte: RE2 takes it, Go refuses it
      t.text += "\\8";                     // which RE2 refuses as an invalid escape, in place
      i += 2;
      continue;
    } else if (rest[0] == '\\') {
      next = std::min(i + 2, p.size());
    } else if (rest[0] == '[') {
      next = classEnd(p, i);
    } else if ((rest.size() > 4 && rest.starts_with("(?P<")) ||
               (rest.size() > 3 && rest.starts_with("(?<"))) {
      i = translateName(p, i, t);
      continue;
    }
    t.text.append(p.substr(i, next - i));
    i = next;
  }
  return t;
}

// --- errors ---------------------------------------------------------------------------------

Error goError(std::string_view code, std::string_view arg) {
  return makeError(fmt::format("error parsing regexp: {}: `{}`", code, arg));
}

std::string_view goCode(RE2::ErrorCode code) {
  switch (code) {
    case RE2::ErrorBadEscape:
      return "invalid escape sequence";
    case RE2::ErrorBadCharClass:
      return "invalid character class";
    case RE2::ErrorBadCharRange:
      return "invalid character class range";
    case RE2::ErrorMissingBracket:
      return "missing closing ]";
    case RE2::ErrorMissingParen:
      return "missing closing )";
    case RE2::ErrorUnexpectedParen:
      return "unexpected )";
    case RE2::ErrorTrailingBackslash:
      return "trailing backslash at end of expression";
    case RE2::ErrorRepeatArgument:
      return "missing argument to repetition operator";
    case RE2::ErrorRepeatSize:
      return "invalid repeat count";
    case RE2::ErrorRepeatOp:
      return "invalid nested repetition operator";
    case RE2::ErrorBadPerlOp:
      return "invalid or unsupported Perl syntax";
    case RE2::ErrorBadUTF8:
      return "invalid UTF-8";
    case RE2::ErrorBadNamedCapture:
      return "invalid named capture";
    case RE2::ErrorPatternTooLarge:
      return "expression too large";
    default:
      return "regexp/syntax: internal error";
  }
}

// The user's text behind RE2's error argument, a copy of a piece of the translated pattern:
// found again there (its first occurrence) and mapped back without the added 'P's.
std::string_view originalText(std::string_view pattern, const Translation& t,
                              std::string_view arg) {
  size_t at = t.text.find(arg);
  if (at == npos) return arg;
  auto original = [&](size_t pos) {
    auto before = std::lower_bound(t.inserted.begin(), t.inserted.end(), pos);
    return pos - size_t(before - t.inserted.begin());
  };
  size_t begin = original(at);
  return pattern.substr(begin, original(at + arg.size()) - begin);
}

// --- matching -------------------------------------------------------------------------------

// The input as Go reads it: a byte that starts no valid UTF-8 character is U+FFFD, one byte
// wide. RE2 would match no character there (not even `.`), so a copy holds U+FFFD's encoding
// instead, and offsets into the copy are mapped back.
class GoText {
 public:
  explicit GoText(std::string_view s) : input_(s) {
    auto bad = firstInvalidUtf8(s);
    if (!bad) return;
    copy_.assign(s.substr(0, *bad));
    for (size_t i = *bad; i < s.size();) {
      size_t w = utf8Width(s, i);
      if (w == 0) replaced_.push_back(copy_.size());
      copy_.append(w == 0 ? std::string_view("\xef\xbf\xbd") : s.substr(i, w));
      i += std::max<size_t>(w, 1);
    }
  }
  std::string_view view() const { return replaced_.empty() ? input_ : copy_; }
  // The input's offset for a character boundary in view().
  size_t original(size_t pos) const {
    auto before = std::lower_bound(replaced_.begin(), replaced_.end(), pos);
    return pos - 2 * size_t(before - replaced_.begin());
  }

 private:
  std::string_view input_;
  std::string copy_;
  std::vector<size_t> replaced_;  // offsets in copy_ of the U+FFFDs standing for bad bytes
};

bool continuationByte(char c) {
  return (uint8_t(c) & 0xc0) == 0x80;
}

// The leftmost-first match that starts at a character boundary at or after `from`, in valid
// UTF-8. RE2 steps through bytes: an empty match (of \B, say) can fall inside a character,
// where Go never looks; the search then goes on from the next character.
std::optional<Span> findFrom(const RE2& re, std::string_view s, size_t from) {
  while (from <= s.size()) {
    re2::StringPiece m;
    if (!re.Match(s, from, s.size(), RE2::UNANCHORED, &m, 1)) return std::nullopt;
    size_t begin = size_t(m.data() - s.data());
    if (m.empty() && begin < s.size() && continuationByte(s[begin])) {
      for (from = begin; from < s.size() && continuationByte(s[from]);) ++from;
      continue;
    }
    return Span(begin, begin + m.size());
  }
  return std::nullopt;
}

}  // namespace

Regexp::Regexp(std::unique_ptr<const re2::RE2> re) : re_(std::move(re)) {}
Regexp::~Regexp() = default;

Result<std::shared_ptr<const Regexp>> Regexp::compile(std::string_view pattern) {
  Translation t = translate(pattern);
  RE2::Options options;
  options.set_log_errors(false);  // errors are returned, not logged
  options.set_max_mem(kMaxMem);
  auto re = std::make_unique<const RE2>(t.text, options);
  auto bad_utf8 = firstInvalidUtf8(pattern);
  if (re->ok() && !bad_utf8) return std::shared_ptr<const Regexp>(new Regexp(std::move(re)));
  // RE2 stops at the same invalid byte as Go but names no text (Go names the rest of the
  // pattern), and it lets encoded surrogates through, which Go refuses.
  if (bad_utf8 && (re->ok() || re->error_code() == RE2::ErrorBadUTF8)) {
    return goError("invalid UTF-8", pattern.substr(*bad_utf8));
  }
  if (re->error_code() == RE2::ErrorPatternTooLarge) {
    return goError(goCode(re->error_code()), pattern);  // Go names the whole pattern
  }
  return goError(goCode(re->error_code()), originalText(pattern, t, re->error_arg()));
}

bool Regexp::matches(std::string_view s) const {
  return !findAll(s, 1).empty();
}

// Go's allMatches: after an empty match the search moves on by one character.
std::vector<Span> Regexp::findAll(std::string_view input, int64_t n) const {
  GoText text(input);
  std::string_view s = text.view();
  std::vector<Span> out;
  size_t pos = 0;
  std::optional<size_t> prev_end;
  while ((n < 0 || int64_t(out.size()) < n) && pos <= s.size()) {
    auto m = findFrom(*re_, s, pos);
    if (!m) break;
    auto [begin, end] = *m;
    bool accept = true;
    if (end == pos) {
      accept = !(prev_end && *prev_end == begin);
      pos += pos < s.size() ? utf8Width(s, pos) : 1;
    } else {
      pos = end;
    }
    prev_end = end;
    if (accept) out.emplace_back(text.original(begin), text.original(end));
  }
  return out;
}

}  // namespace kw::opa
