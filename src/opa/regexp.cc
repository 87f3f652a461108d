#include "opa/regexp.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <tuple>

namespace kw::opa {

using Rune = uint32_t;
using Ranges = std::vector<std::pair<Rune, Rune>>;  // inclusive; sorted and disjoint once built

enum class Assertion : uint8_t {
  BeginText,
  EndText,
  BeginLine,
  EndLine,
  WordBoundary,
  NotWordBoundary
};

struct Regexp::Inst {
  enum class Op : uint8_t { Chars, Any, AnyNotNL, Split, Jmp, Assert, Match } op = Op::Match;
  uint32_t x = 0;  // Split: preferred branch; Jmp: target
  uint32_t y = 0;  // Split: other branch
  Assertion assertion = Assertion::BeginText;
  Ranges ranges;  // Chars
};

namespace {

using Inst = Regexp::Inst;
using Op = Inst::Op;

constexpr Rune kMaxRune = 0x10ffff;
constexpr Rune kReplacement = 0xfffd;
constexpr int kMaxRepeat = 1000;        // as RE2
constexpr int kMaxNesting = 250;        // bounds the parser's (and compiler's) recursion
constexpr size_t kMaxProgram = 100000;  // instructions, after expanding counted repetition

// One character at s[i] and its width; an invalid byte reads as U+FFFD of width 1, as in Go.
std::pair<Rune, size_t> decode(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return uint8_t(s[k]); };
  uint8_t c0 = b(i);
  if (c0 < 0x80) return {c0, 1};
  size_t len = c0 >= 0xf0 ? 4 : c0 >= 0xe0 ? 3 : c0 >= 0xc2 ? 2 : 0;
  if (len == 0 || c0 > 0xf4 || i + len > s.size()) return {kReplacement, 1};
  Rune r = c0 & (0xff >> (len + 1));
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return {kReplacement, 1};
    r = r << 6 | (b(i + k) & 0x3f);
  }
  static constexpr Rune kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (r < kMin[len] || r > kMaxRune || (r >= 0xd800 && r <= 0xdfff)) return {kReplacement, 1};
  return {r, len};
}

void normalise(Ranges& r) {
  std::sort(r.begin(), r.end());
  Ranges out;
  for (const auto& range : r) {
    if (!out.empty() && range.first <= out.back().second + 1) {
      out.back().second = std::max(out.back().second, range.second);
    } else {
      out.push_back(range);
    }
  }
  r = std::move(out);
}

Ranges negate(const Ranges& r) {
  Ranges out;
  Rune next = 0;
  for (const auto& [lo, hi] : r) {
    if (lo > next) out.emplace_back(next, lo - 1);
    next = hi + 1;
  }
  if (next <= kMaxRune) out.emplace_back(next, kMaxRune);
  return out;
}

// Adds the other case of every ASCII letter in the ranges.
void addFolded(Ranges& r) {
  Ranges extra;
  for (const auto& [lo, hi] : r) {
    for (auto [from, to, delta] : {std::tuple<Rune, Rune, int>{'a', 'z', -32}, {'A', 'Z', 32}}) {
      Rune a = std::max(lo, from), b = std::min(hi, to);
      if (a <= b) extra.emplace_back(Rune(int(a) + delta), Rune(int(b) + delta));
    }
  }
  r.insert(r.end(), extra.begin(), extra.end());
  normalise(r);
}

bool contains(const Ranges& r, Rune c) {
  auto it = std::upper_bound(r.begin(), r.end(), std::pair<Rune, Rune>(c, kMaxRune));
  return it != r.begin() && std::prev(it)->second >= c && std::prev(it)->first <= c;
}

// --- syntax tree --------------------------------------------------------------------------

struct Node {
  enum class Kind { Empty, Chars, AnyChar, AnyNotNL, Assert, Concat, Alternate, Repeat };
  Kind kind = Kind::Empty;
  Ranges ranges;
  Assertion assertion = Assertion::BeginText;
  int min = 0, max = 0;  // Repeat; max < 0: unbounded
  bool greedy = true;
  std::vector<Node> subs;
};

struct Flags {
  bool fold = false;       // i
  bool multiline = false;  // m
  bool dot_nl = false;     // s
  bool ungreedy = false;   // U
};

Node charsNode(Ranges r, const Flags& f) {
  if (f.fold) addFolded(r);
  normalise(r);
  Node n;
  n.kind = Node::Kind::Chars;
  n.ranges = std::move(r);
  return n;
}

Node assertNode(Assertion a) {
  Node n;
  n.kind = Node::Kind::Assert;
  n.assertion = a;
  return n;
}

// RE2's ASCII classes, by name (Perl letter or POSIX name).
std::optional<Ranges> namedClass(std::string_view name) {
  static const std::pair<std::string_view, Ranges> kClasses[] = {
      {"d", {{'0', '9'}}},
      {"s", {{'\t', '\n'}, {'\f', '\r'}, {' ', ' '}}},
      {"w", {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}},
      {"alnum", {{'0', '9'}, {'A', 'Z'}, {'a', 'z'}}},
      {"alpha", {{'A', 'Z'}, {'a', 'z'}}},
      {"ascii", {{0, 0x7f}}},
      {"blank", {{'\t', '\t'}, {' ', ' '}}},
      {"cntrl", {{0, 0x1f}, {0x7f, 0x7f}}},
      {"digit", {{'0', '9'}}},
      {"graph", {{'!', '~'}}},
      {"lower", {{'a', 'z'}}},
      {"print", {{' ', '~'}}},
      {"punct", {{'!', '/'}, {':', '@'}, {'[', '`'}, {'{', '~'}}},
      {"space", {{'\t', '\r'}, {' ', ' '}}},
      {"upper", {{'A', 'Z'}}},
      {"word", {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}},
      {"xdigit", {{'0', '9'}, {'A', 'F'}, {'a', 'f'}}},
  };
  for (const auto& [n, r] : kClasses) {
    if (n == name) return r;
  }
  return std::nullopt;
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// What an escape sequence stands for.
struct Escape {
  std::optional<Rune> rune;
  std::optional<Ranges> ranges;
  std::optional<Assertion> assertion;
  std::string literal;  // \Q...\E
};

class Parser {
 public:
  explicit Parser(std::string_view p) : p_(p) {}

  Result<Node> parse() {
    Flags flags;
    auto n = alternation(flags, 0);
    if (!n) return n.error();
    if (pos_ < p_.size()) return error("unexpected )", p_);
    return n;
  }

 private:
  Error error(std::string_view what, std::string_view fragment) const {
    return makeError(fmt::format("{}: `{}`", what, fragment));
  }
  bool more() const { return pos_ < p_.size(); }
  char peek() const { return p_[pos_]; }
  bool startsWith(std::string_view s) const { return p_.substr(pos_).starts_with(s); }

  Result<Node> alternation(Flags& flags, int depth) {
    if (depth > kMaxNesting) return error("expression nests too deeply", p_);
    Node alt;
    alt.kind = Node::Kind::Alternate;
    while (true) {
      auto branch = concat(flags, depth);
      if (!branch) return branch.error();
      alt.subs.push_back(std::move(*branch));
      if (!more() || peek() != '|') break;
      ++pos_;
    }
    if (alt.subs.size() == 1) return std::move(alt.subs[0]);
    return alt;
  }

  Result<Node> concat(Flags& flags, int depth) {
    Node cat;
    cat.kind = Node::Kind::Concat;
    while (more() && peek() != '|' && peek() != ')') {
      auto atom = this->atom(flags, depth);
      if (!atom) return atom.error();
      if (!*atom) continue;  // a flag group: nothing to match
      auto repeated = quantifiers(std::move(**atom), flags);
      if (!repeated) return repeated.error();
      cat.subs.push_back(std::move(*repeated));
    }
    if (cat.subs.size() == 1) return std::move(cat.subs[0]);
    return cat;
  }

  // One atom, or nullopt for a group that only sets flags.
  Result<std::optional<Node>> atom(Flags& flags, int depth) {
    size_t start = pos_;
    char c = peek();
    switch (c) {
      case '(':
        return group(flags, depth);
      case '[':
        return wrap(charClass(flags));
      case '.': {
        ++pos_;
        Node n;
        n.kind = flags.dot_nl ? Node::Kind::AnyChar : Node::Kind::AnyNotNL;
        return std::optional<Node>(std::move(n));
      }
      case '^':
        ++pos_;
        return std::optional<Node>(
            assertNode(flags.multiline ? Assertion::BeginLine : Assertion::BeginText));
      case '$':
        ++pos_;
        return std::optional<Node>(
            assertNode(flags.multiline ? Assertion::EndLine : Assertion::EndText));
      case '\\':
        return escapeAtom(flags);
      case '*':
      case '+':
      case '?':
        return error("missing argument to repetition operator", p_.substr(start, 1));
      case '{': {
        int lo, hi;
        if (repeatSpec(lo, hi)) {
          return error("missing argument to repetition operator", p_.substr(start, pos_ - start));
        }
        break;  // a '{' that starts no repetition is literal
      }
      default:
        break;
    }
    auto [r, w] = decode(p_, pos_);
    pos_ += w;
    return std::optional<Node>(charsNode({{r, r}}, flags));
  }

  static Result<std::optional<Node>> wrap(Result<Node> n) {
    if (!n) return n.error();
    return std::optional<Node>(std::move(*n));
  }

  Result<std::optional<Node>> group(Flags& flags, int depth) {
    size_t start = pos_++;
    Flags inner = flags;  // flags set inside a group end with it
    if (startsWith("?P<") || (startsWith("?<") && !startsWith("?<=") && !startsWith("?<!"))) {
      pos_ += startsWith("?P<") ? 3 : 2;
      size_t close = p_.find('>', pos_);
      std::string_view name = p_.substr(pos_, close == std::string_view::npos ? 0 : close - pos_);
      bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
        return std::isalnum(uint8_t(ch)) || ch == '_';
      });
      if (!ok) return error("invalid named capture", p_.substr(start));
      pos_ = close + 1;
    } else if (startsWith("?")) {
      auto applied = flagGroup(inner, start);
      if (!applied) return applied.error();
      if (!*applied) {  // (?flags): applies to the rest of the enclosing group
        flags = inner;
        return std::optional<Node>();
      }
    }
    auto body = alternation(inner, depth + 1);
    if (!body) return body.error();
    if (!more() || peek() != ')') return error("missing closing )", p_);
    ++pos_;
    return std::optional<Node>(std::move(*body));
  }

  // Parses "?flags)" (returns false) or "?flags:" (returns true, a group body follows).
  Result<bool> flagGroup(Flags& f, size_t start) {
    ++pos_;  // '?'
    bool negated = false, any = false;
    for (; more(); ++pos_) {
      char c = peek();
      if (c == ')' || c == ':') {
        if (!any && (c == ')' || negated)) break;
        ++pos_;
        return c == ':';
      }
      bool value = !negated;
      switch (c) {
        case 'i':
          f.fold = value;
          break;
        case 'm':
          f.multiline = value;
          break;
        case 's':
          f.dot_nl = value;
          break;
        case 'U':
          f.ungreedy = value;
          break;
        case '-':
          if (negated)
            return error("invalid or unsupported Perl syntax", p_.substr(start, pos_ - start + 1));
          negated = true;
          any = false;
          continue;
        default:
          return error("invalid or unsupported Perl syntax", p_.substr(start, pos_ - start + 1));
      }
      any = true;
    }
    return error("invalid or unsupported Perl syntax", p_.substr(start, pos_ - start));
  }

  // {n}, {n,} or {n,m} at pos_; advances past it only when it is one.
  bool repeatSpec(int& lo, int& hi) {
    size_t p = pos_ + 1;
    auto number = [&](int& out) {
      size_t s = p;
      long v = 0;
      while (p < p_.size() && p_[p] >= '0' && p_[p] <= '9' && v <= 100000)
        v = v * 10 + (p_[p++] - '0');
      out = int(std::min<long>(v, 100001));
      return p > s;
    };
    if (!number(lo)) return false;
    hi = lo;
    if (p < p_.size() && p_[p] == ',') {
      ++p;
      hi = -1;
      if (p < p_.size() && p_[p] != '}' && !number(hi)) return false;
    }
    if (p >= p_.size() || p_[p] != '}') return false;
    pos_ = p + 1;
    return true;
  }

  Result<Node> quantifiers(Node atom, const Flags& flags) {
    bool repeated = false;
    while (more()) {
      size_t start = pos_;
      int lo = 0, hi = -1;
      char c = peek();
      if (c == '*' || c == '+' || c == '?') {
        ++pos_;
        lo = c == '+' ? 1 : 0;
        hi = c == '?' ? 1 : -1;
      } else if (c != '{' || !repeatSpec(lo, hi)) {
        break;
      }
      if (lo > kMaxRepeat || hi > kMaxRepeat || (hi >= 0 && hi < lo)) {
        return error("invalid repeat count", p_.substr(start, pos_ - start));
      }
      bool lazy = more() && peek() == '?';
      if (lazy) ++pos_;
      if (repeated) {
        return error("invalid nested repetition operator", p_.substr(start - 1, pos_ - start + 1));
      }
      repeated = true;
      Node rep;
      rep.kind = Node::Kind::Repeat;
      rep.min = lo;
      rep.max = hi;
      rep.greedy = lazy == flags.ungreedy;
      rep.subs.push_back(std::move(atom));
      atom = std::move(rep);
    }
    return atom;
  }

  Result<std::optional<Node>> escapeAtom(const Flags& flags) {
    auto e = escape(false);
    if (!e) return e.error();
    if (e->assertion) return std::optional<Node>(assertNode(*e->assertion));
    if (e->ranges) return std::optional<Node>(charsNode(*e->ranges, flags));
    if (e->rune) return std::optional<Node>(charsNode({{*e->rune, *e->rune}}, flags));
    Node cat;  // \Q...\E
    cat.kind = Node::Kind::Concat;
    for (size_t i = 0; i < e->literal.size();) {
      auto [r, w] = decode(e->literal, i);
      i += w;
      cat.subs.push_back(charsNode({{r, r}}, flags));
    }
    return std::optional<Node>(std::move(cat));
  }

  // The escape at pos_ (the backslash).
  Result<Escape> escape(bool in_class) {
    size_t start = pos_++;
    if (!more()) return error("trailing backslash at end of expression", "");
    char c = p_[pos_++];
    Escape e;
    auto bad = [&] { return error("invalid escape sequence", p_.substr(start, pos_ - start)); };
    if (c >= '0' && c <= '7') {
      // Octal: \0 plus up to two digits, or \1-\7 followed by a digit (a lone \1 would be a
      // back-reference, which RE2 refuses).
      if (c != '0' && (!more() || peek() < '0' || peek() > '7')) return bad();
      Rune v = Rune(c - '0');
      for (int i = 0; i < 2 && more() && peek() >= '0' && peek() <= '7'; ++i) {
        v = v * 8 + Rune(p_[pos_++] - '0');
      }
      e.rune = v;
      return e;
    }
    static constexpr std::string_view kSimple = "a\af\ft\tn\nr\rv\v";
    if (size_t k = kSimple.find(c); k != std::string_view::npos && k % 2 == 0) {
      e.rune = Rune(uint8_t(kSimple[k + 1]));
      return e;
    }
    switch (c) {
      case 'x':
        return hexEscape(start);
      case 'd':
      case 's':
      case 'w':
      case 'D':
      case 'S':
      case 'W': {
        Ranges r = *namedClass(std::string(1, char(std::tolower(c))));
        e.ranges = std::isupper(uint8_t(c)) ? negate(r) : r;
        return e;
      }
      case 'p':
      case 'P':
        return error("Unicode character classes are not supported", p_.substr(start, pos_ - start));
      default:
        break;
    }
    if (!in_class && c != '\0' && std::strchr("AzbB", c)) {
      e.assertion = c == 'A'   ? Assertion::BeginText
                    : c == 'z' ? Assertion::EndText
                    : c == 'b' ? Assertion::WordBoundary
                               : Assertion::NotWordBoundary;
      return e;
    }
    if (!in_class) {
      if (c == 'Q') {
        size_t end = p_.find("\\E", pos_);
        e.literal = std::string(p_.substr(pos_, end == std::string_view::npos ? end : end - pos_));
        pos_ = end == std::string_view::npos ? p_.size() : end + 2;
        return e;
      }
    }
    if (uint8_t(c) < 0x80 && !std::isalnum(uint8_t(c))) {  // escaped non-word ASCII is literal
      e.rune = Rune(uint8_t(c));
      return e;
    }
    return bad();
  }

  Result<Escape> hexEscape(size_t start) {
    Escape e;
    Rune v = 0;
    auto bad = [&] { return error("invalid escape sequence", p_.substr(start, pos_ - start)); };
    if (more() && peek() == '{') {
      ++pos_;
      size_t digits = 0;
      while (more() && hexDigit(peek()) >= 0) {
        v = v * 16 + Rune(hexDigit(p_[pos_++]));
        if (++digits > 8 || v > kMaxRune) return bad();
      }
      if (!more() || peek() != '}' || digits == 0) return bad();
      ++pos_;
    } else {
      for (int i = 0; i < 2; ++i) {
        if (!more() || hexDigit(peek()) < 0) return bad();
        v = v * 16 + Rune(hexDigit(p_[pos_++]));
      }
    }
    e.rune = v;
    return e;
  }

  Result<Node> charClass(const Flags& flags) {
    size_t start = pos_++;
    bool negated = more() && peek() == '^';
    if (negated) ++pos_;
    Ranges r;
    for (bool first = true;; first = false) {
      if (!more()) return error("missing closing ]", p_.substr(start));
      if (peek() == ']' && !first) {
        ++pos_;
        break;
      }
      if (startsWith("[:")) {
        auto posix = posixClass();
        if (!posix) return posix.error();
        r.insert(r.end(), posix->begin(), posix->end());
        continue;
      }
      auto lo = classRune(r);
      if (!lo) return lo.error();
      if (!*lo) continue;  // a class escape such as \d, already added
      Rune hi = **lo;
      if (startsWith("-") && pos_ + 1 < p_.size() && p_[pos_ + 1] != ']') {
        size_t dash = pos_++;
        Ranges ignored;
        auto end = classRune(ignored);
        if (!end) return end.error();
        if (!*end || **end < **lo) {
          return error("invalid character class range", p_.substr(dash - 1, pos_ - dash + 1));
        }
        hi = **end;
      }
      r.emplace_back(**lo, hi);
    }
    if (flags.fold) addFolded(r);
    normalise(r);
    Node n;
    n.kind = Node::Kind::Chars;
    n.ranges = negated ? negate(r) : r;
    return n;
  }

  // A single character inside a class, or nullopt after adding a class escape's ranges.
  Result<std::optional<Rune>> classRune(Ranges& r) {
    if (peek() != '\\') {
      auto [c, w] = decode(p_, pos_);
      pos_ += w;
      return std::optional<Rune>(c);
    }
    auto e = escape(true);
    if (!e) return e.error();
    if (e->ranges) {
      r.insert(r.end(), e->ranges->begin(), e->ranges->end());
      return std::optional<Rune>();
    }
    return std::optional<Rune>(*e->rune);
  }

  Result<Ranges> posixClass() {
    size_t start = pos_;
    size_t end = p_.find(":]", pos_ + 2);
    if (end == std::string_view::npos) return error("missing closing ]", p_.substr(start));
    std::string_view name = p_.substr(pos_ + 2, end - pos_ - 2);
    bool negated = name.starts_with('^');
    if (negated) name.remove_prefix(1);
    auto r = name.size() > 1 ? namedClass(name) : std::nullopt;
    pos_ = end + 2;
    if (!r) return error("invalid character class range", p_.substr(start, pos_ - start));
    normalise(*r);
    return negated ? negate(*r) : *r;
  }

  std::string_view p_;
  size_t pos_ = 0;
};

// --- compiling ----------------------------------------------------------------------------

class Compiler {
 public:
  Status emit(const Node& n) {
    if (prog_.size() > kMaxProgram) return makeError("expression too large");
    switch (n.kind) {
      case Node::Kind::Empty:
        return okStatus();
      case Node::Kind::Chars: {
        Inst in;
        in.op = Op::Chars;
        in.ranges = n.ranges;
        add(std::move(in));
        return okStatus();
      }
      case Node::Kind::AnyChar:
        add(simple(Op::Any));
        return okStatus();
      case Node::Kind::AnyNotNL:
        add(simple(Op::AnyNotNL));
        return okStatus();
      case Node::Kind::Assert: {
        Inst in = simple(Op::Assert);
        in.assertion = n.assertion;
        add(std::move(in));
        return okStatus();
      }
      case Node::Kind::Concat:
        for (const Node& sub : n.subs) {
          if (auto s = emit(sub); !s) return s;
        }
        return okStatus();
      case Node::Kind::Alternate:
        return alternate(n);
      case Node::Kind::Repeat:
        return repeat(n);
    }
    return okStatus();
  }

  std::vector<Inst> finish() {
    add(simple(Op::Match));
    return std::move(prog_);
  }

 private:
  static Inst simple(Op op) {
    Inst in;
    in.op = op;
    return in;
  }
  uint32_t pc() const { return uint32_t(prog_.size()); }
  uint32_t add(Inst in) {
    prog_.push_back(std::move(in));
    return pc() - 1;
  }

  // Branches in order of preference: split(this, next); this; jmp end; next: ...
  Status alternate(const Node& n) {
    std::vector<uint32_t> jumps;
    for (size_t i = 0; i + 1 < n.subs.size(); ++i) {
      uint32_t split = add(simple(Op::Split));
      prog_[split].x = pc();
      if (auto s = emit(n.subs[i]); !s) return s;
      jumps.push_back(add(simple(Op::Jmp)));
      prog_[split].y = pc();
    }
    if (auto s = emit(n.subs.back()); !s) return s;
    for (uint32_t j : jumps) prog_[j].x = pc();
    return okStatus();
  }

  // x{min,max}: min copies, then a loop (unbounded) or nested optional copies.
  Status repeat(const Node& n) {
    const Node& body = n.subs[0];
    for (int i = 0; i < n.min; ++i) {
      if (auto s = emit(body); !s) return s;
    }
    if (n.max < 0) {
      uint32_t split = add(simple(Op::Split));
      if (auto s = emit(body); !s) return s;
      Inst back = simple(Op::Jmp);
      back.x = split;
      add(std::move(back));
      branch(split, split + 1, pc(), n.greedy);
      return okStatus();
    }
    std::vector<uint32_t> splits;
    for (int i = n.min; i < n.max; ++i) {
      splits.push_back(add(simple(Op::Split)));
      if (auto s = emit(body); !s) return s;
    }
    for (uint32_t split : splits) branch(split, split + 1, pc(), n.greedy);
    return okStatus();
  }

  void branch(uint32_t split, uint32_t body, uint32_t out, bool greedy) {
    prog_[split].x = greedy ? body : out;
    prog_[split].y = greedy ? out : body;
  }

  std::vector<Inst> prog_;
};

bool isWordByte(char c) {
  return std::isalnum(uint8_t(c)) || c == '_';
}

bool holds(Assertion a, std::string_view s, size_t pos) {
  switch (a) {
    case Assertion::BeginText:
      return pos == 0;
    case Assertion::EndText:
      return pos == s.size();
    case Assertion::BeginLine:
      return pos == 0 || s[pos - 1] == '\n';
    case Assertion::EndLine:
      return pos == s.size() || s[pos] == '\n';
    case Assertion::WordBoundary:
    case Assertion::NotWordBoundary: {
      bool before = pos > 0 && isWordByte(s[pos - 1]);
      bool after = pos < s.size() && isWordByte(s[pos]);
      return (before != after) == (a == Assertion::WordBoundary);
    }
  }
  return false;
}

// The threads alive at one input position, in priority order, at most one per instruction.
class ThreadList {
 public:
  struct Thread {
    uint32_t pc;
    size_t start;
  };
  explicit ThreadList(size_t n) : mark_(n, 0) {}
  bool visit(uint32_t pc) {
    if (mark_[pc] == gen_) return false;
    mark_[pc] = gen_;
    return true;
  }
  void push(uint32_t pc, size_t start) { threads_.push_back({pc, start}); }
  void clear() {
    threads_.clear();
    ++gen_;
  }
  const std::vector<Thread>& threads() const { return threads_; }

 private:
  std::vector<uint32_t> mark_;
  uint32_t gen_ = 1;
  std::vector<Thread> threads_;
};

}  // namespace

Regexp::~Regexp() = default;

Result<std::shared_ptr<const Regexp>> Regexp::compile(std::string_view pattern) {
  auto tree = Parser(pattern).parse();
  if (!tree) return tree.error();
  Compiler compiler;
  if (auto s = compiler.emit(*tree); !s) return s.error();
  std::shared_ptr<Regexp> re(new Regexp());
  re->prog_ = compiler.finish();
  return std::shared_ptr<const Regexp>(std::move(re));
}

std::optional<std::pair<size_t, size_t>> Regexp::find(std::string_view s, size_t from) const {
  if (from > s.size()) return std::nullopt;
  ThreadList now(prog_.size()), next(prog_.size());
  std::vector<uint32_t> stack;
  // Follows jumps, splits (preferred branch first) and assertions from pc, queueing the
  // instructions that consume input or match.
  auto addThread = [&](ThreadList& list, uint32_t pc0, size_t pos, size_t start) {
    stack.push_back(pc0);
    while (!stack.empty()) {
      uint32_t pc = stack.back();
      stack.pop_back();
      if (!list.visit(pc)) continue;
      const Inst& in = prog_[pc];
      switch (in.op) {
        case Op::Jmp:
          stack.push_back(in.x);
          break;
        case Op::Split:
          stack.push_back(in.y);
          stack.push_back(in.x);
          break;
        case Op::Assert:
          if (holds(in.assertion, s, pos)) stack.push_back(pc + 1);
          break;
        default:
          list.push(pc, start);
      }
    }
  };
  // A pattern that starts with \A (or ^ outside multi-line mode) can only start at 0.
  bool anchored = prog_[0].op == Op::Assert && prog_[0].assertion == Assertion::BeginText;
  std::optional<std::pair<size_t, size_t>> match;
  for (size_t pos = from;;) {
    bool may_start = !match && (pos == 0 || !anchored);
    if (may_start) addThread(now, 0, pos, pos);  // a new start has the lowest priority
    if (now.threads().empty() && !may_start && (match || anchored)) break;
    auto [r, w] = pos < s.size() ? decode(s, pos) : std::pair<Rune, size_t>(0, 0);
    for (const auto& t : now.threads()) {
      const Inst& in = prog_[t.pc];
      if (in.op == Op::Match) {
        match.emplace(t.start, pos);
        break;  // lower-priority threads lose to this match
      }
      bool step = pos < s.size() && (in.op == Op::Any || (in.op == Op::AnyNotNL && r != '\n') ||
                                     (in.op == Op::Chars && contains(in.ranges, r)));
      if (step) addThread(next, t.pc + 1, pos + w, t.start);
    }
    if (pos >= s.size()) break;
    std::swap(now, next);
    next.clear();
    pos += w;
  }
  return match;
}

}  // namespace kw::opa
