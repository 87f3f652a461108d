#include "opa/opa_abi.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace kw::opa {

using wasm::Caller;
using wasm::CallError;
using wasm::CallResult;
using wasm::FailKind;
using wasm::ValType;
using wasm::Value;

// Per-instance state, the instance's host data.
struct OpaInstance::HostState {
  wasm::Instance* instance = nullptr;
  ModuleInfoPtr info;
  std::chrono::steady_clock::time_point deadline;
  BuiltinContext builtin_ctx;
  std::vector<std::string>* prints = nullptr;
};

namespace {

using HostState = OpaInstance::HostState;

template <typename T>
const CallError* errorOf(const CallResult<T>& r) {
  return std::get_if<CallError>(&r);
}

CallError hostError(std::string message) {
  return CallError{FailKind::HostError, std::move(message)};
}

// --- reading the module binary (ABI version globals) ----------------------------------------

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> b) : b_(b) {}
  bool done() const { return pos_ >= b_.size(); }
  size_t pos() const { return pos_; }
  std::optional<uint8_t> byte() {
    if (pos_ >= b_.size()) return std::nullopt;
    return b_[pos_++];
  }
  std::optional<uint64_t> uleb() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      auto b = byte();
      if (!b) return std::nullopt;
      v |= uint64_t(*b & 0x7f) << shift;
      if (!(*b & 0x80)) return v;
    }
    return std::nullopt;
  }
  std::optional<int64_t> sleb() {
    int64_t v = 0;
    int shift = 0;
    while (shift < 64) {
      auto b = byte();
      if (!b) return std::nullopt;
      v |= int64_t(*b & 0x7f) << shift;
      shift += 7;
      if (!(*b & 0x80)) {
        if (shift < 64 && (*b & 0x40)) v |= -(int64_t(1) << shift);
        return v;
      }
    }
    return std::nullopt;
  }
  bool skip(uint64_t n) {
    if (n > b_.size() - pos_) return false;
    pos_ += size_t(n);
    return true;
  }
  std::optional<std::string> name() {
    auto n = uleb();
    if (!n || *n > b_.size() - pos_) return std::nullopt;
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), size_t(*n));
    pos_ += size_t(*n);
    return s;
  }

 private:
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
};

bool skipLimits(ByteReader& r) {
  auto flags = r.byte();
  if (!flags || !r.uleb()) return false;
  return !(*flags & 1) || r.uleb().has_value();
}

// Counts imported globals (they come first in the global index space).
std::optional<uint32_t> importedGlobals(ByteReader r) {
  auto count = r.uleb();
  if (!count) return std::nullopt;
  uint32_t globals = 0;
  for (uint64_t i = 0; i < *count; ++i) {
    if (!r.name() || !r.name()) return std::nullopt;
    auto kind = r.byte();
    if (!kind) return std::nullopt;
    bool ok = false;
    switch (*kind) {
      case 0:
        ok = r.uleb().has_value();
        break;
      case 1:
        ok = r.byte() && skipLimits(r);
        break;
      case 2:
        ok = skipLimits(r);
        break;
      case 3:
        ok = r.byte() && r.byte();
        ++globals;
        break;
      default:
        return std::nullopt;
    }
    if (!ok) return std::nullopt;
  }
  return globals;
}

// The constant of each defined global initialised by i32.const (nullopt for other ones).
std::optional<std::vector<std::optional<int32_t>>> globalConstants(ByteReader r) {
  auto count = r.uleb();
  if (!count) return std::nullopt;
  std::vector<std::optional<int32_t>> out;
  for (uint64_t i = 0; i < *count; ++i) {
    if (!r.byte() || !r.byte()) return std::nullopt;  // value type, mutability
    auto op = r.byte();
    std::optional<int32_t> value;
    bool ok = op.has_value();
    if (ok && *op == 0x41) {
      auto v = r.sleb();
      ok = v.has_value();
      if (ok) value = int32_t(*v);
    } else if (ok && (*op == 0x42 || *op == 0x23 || *op == 0xd2)) {
      ok = *op == 0x42 ? r.sleb().has_value() : r.uleb().has_value();
    } else if (ok && (*op == 0x43 || *op == 0x44 || *op == 0xd0)) {
      ok = r.skip(*op == 0x43 ? 4 : *op == 0x44 ? 8 : 1);
    } else {
      ok = false;
    }
    if (!ok || r.byte() != std::optional<uint8_t>(0x0b)) return std::nullopt;
    out.push_back(value);
  }
  return out;
}

// Global indexes of the exports with these names.
std::optional<std::map<std::string, uint64_t>> exportedGlobals(ByteReader r) {
  auto count = r.uleb();
  if (!count) return std::nullopt;
  std::map<std::string, uint64_t> out;
  for (uint64_t i = 0; i < *count; ++i) {
    auto name = r.name();
    auto kind = r.byte();
    auto index = r.uleb();
    if (!name || !kind || !index) return std::nullopt;
    if (*kind == 3) out[*name] = *index;
  }
  return out;
}

// --- guest access ------------------------------------------------------------------------

// Reads the NUL-terminated string at addr, bounds-checked against the guest's memory.
CallResult<std::string> readCString(Caller& c, uint32_t addr) {
  constexpr uint64_t kChunk = 4096;
  std::string out;
  for (uint64_t pos = addr;;) {
    auto span = c.memory(pos, kChunk);
    if (!span) {  // near the end of memory: find how much is left
      uint64_t lo = 0, hi = kChunk;
      while (hi - lo > 1) {
        uint64_t mid = (lo + hi) / 2;
        (c.memory(pos, mid) ? lo : hi) = mid;
      }
      span = lo ? c.memory(pos, lo) : std::nullopt;
    }
    if (!span) {
      return hostError(fmt::format("the OPA string at address {} is outside guest memory", addr));
    }
    auto nul = std::find(span->begin(), span->end(), uint8_t(0));
    out.append(span->begin(), nul);
    if (nul != span->end()) return out;
    pos += span->size();
  }
}

// Calls into one instance under the evaluation's deadline.
class Guest {
 public:
  Guest(wasm::Instance& instance, std::chrono::steady_clock::time_point deadline)
      : instance_(instance), deadline_(deadline) {}

  CallResult<int32_t> call(std::string_view fn, std::initializer_list<int32_t> args) {
    // A deadline that passed between two short calls would otherwise go unnoticed.
    if (std::chrono::steady_clock::now() >= deadline_) {
      return CallError{FailKind::Timeout, "guest code interrupted, execution deadline exceeded"};
    }
    Value argv[4];
    size_t n = 0;
    for (int32_t a : args) argv[n++] = Value::fromI32(a);
    auto r = instance_.call(fn, std::span<const Value>(argv, n), deadline_);
    if (auto* err = errorOf(r)) return *err;
    const auto& results = std::get<std::vector<Value>>(r);
    return results.empty() ? 0 : results[0].i32;
  }

  // opa_malloc + copy + opa_json_parse: the address of the parsed value.
  CallResult<uint32_t> load(std::string_view json) {
    auto addr = call("opa_malloc", {int32_t(json.size())});
    if (auto* err = errorOf(addr)) return *err;
    if (!instance_.caller().write(uint32_t(std::get<int32_t>(addr)), json)) {
      return hostError("opa_malloc returned memory outside the guest's memory");
    }
    auto value = call("opa_json_parse", {std::get<int32_t>(addr), int32_t(json.size())});
    if (auto* err = errorOf(value)) return *err;
    if (std::get<int32_t>(value) == 0) return hostError("the guest could not parse a JSON value");
    return uint32_t(std::get<int32_t>(value));
  }

  // opa_json_dump of the value at addr, as text.
  CallResult<std::string> dump(uint32_t addr) {
    auto text = call("opa_json_dump", {int32_t(addr)});
    if (auto* err = errorOf(text)) return *err;
    return readCString(instance_.caller(), uint32_t(std::get<int32_t>(text)));
  }

  CallResult<Json> dumpJson(uint32_t addr) {
    auto text = dump(addr);
    if (auto* err = errorOf(text)) return *err;
    Json j = Json::parse(std::get<std::string>(text), nullptr, false);
    if (j.is_discarded()) return hostError("the guest dumped a value that is not JSON");
    return j;
  }

 private:
  wasm::Instance& instance_;
  std::chrono::steady_clock::time_point deadline_;
};

// --- imports -----------------------------------------------------------------------------

HostState& stateOf(Caller& c) {
  return *static_cast<HostState*>(c.hostData());
}

std::vector<Value> opaAbort(Caller& c, std::span<const Value> a) {
  auto message = readCString(c, uint32_t(a[0].i32));
  auto* err = errorOf(message);
  c.fail(FailKind::HostError, err ? err->message : std::get<std::string>(message));
  return {};
}

std::vector<Value> opaPrintln(Caller& c, std::span<const Value> a) {
  HostState& s = stateOf(c);
  auto line = readCString(c, uint32_t(a[0].i32));
  if (auto* err = errorOf(line)) {
    c.fail(err->kind, err->message);
    return {};
  }
  spdlog::info("[{}] {}", s.builtin_ctx.policy_id, std::get<std::string>(line));
  if (s.prints) s.prints->push_back(std::get<std::string>(line));
  return {};
}

// Resolves the id, reads the arguments out of the guest, runs the builtin, and places its
// result back in the guest (0 for an undefined result).
CallResult<uint32_t> invokeBuiltin(HostState& s, int32_t id, std::span<const Value> arg_addrs) {
  const ModuleInfo& info = *s.info;
  bool known = id >= 0 && size_t(id) < info.builtins.size();
  const Builtin* builtin = known ? info.builtins[size_t(id)] : nullptr;
  if (!builtin) {
    return hostError(fmt::format("not implemented: built-in function {}: {}", id,
                                 known ? info.builtin_names[size_t(id)] : "undefined"));
  }
  Guest guest(*s.instance, s.deadline);
  std::vector<Json> args;
  for (const Value& addr : arg_addrs) {
    auto v = guest.dumpJson(uint32_t(addr.i32));
    if (auto* err = errorOf(v)) return *err;
    args.push_back(std::move(std::get<Json>(v)));
  }
  auto result = callBuiltin(builtin->name, args, s.builtin_ctx);
  if (!result) return hostError(result.error().message);
  if (!result->has_value()) return 0u;
  return guest.load((*result)->dump(-1, ' ', false, Json::error_handler_t::replace));
}

std::vector<Value> opaBuiltin(Caller& c, std::span<const Value> a) {
  auto r = invokeBuiltin(stateOf(c), a[0].i32, a.subspan(2));
  if (auto* err = errorOf(r)) {
    c.fail(err->kind, err->message);
    return {Value::fromI32(0)};
  }
  return {Value::fromI32(int32_t(std::get<uint32_t>(r)))};
}

wasm::ImportSet buildImportSet() {
  wasm::ImportSet set;
  const auto I = ValType::I32;
  set.add({"env", "opa_abort", {{I}, {}}, opaAbort});
  set.add({"env", "opa_println", {{I}, {}}, opaPrintln});
  for (size_t n = 0; n <= 4; ++n) {
    std::vector<ValType> params(2 + n, I);
    set.add({"env", fmt::format("opa_builtin{}", n), {params, {I}}, opaBuiltin});
  }
  return set;
}

// builtins() is an object name -> id, entrypoints() an object name -> id.
CallResult<ModuleInfoPtr> readModuleInfo(Guest& guest) {
  auto info = std::make_shared<ModuleInfo>();
  auto builtins_addr = guest.call("builtins", {});
  if (auto* err = errorOf(builtins_addr)) return *err;
  auto builtins = guest.dumpJson(uint32_t(std::get<int32_t>(builtins_addr)));
  if (auto* err = errorOf(builtins)) return *err;
  for (const auto& [name, id] : std::get<Json>(builtins).items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > 100000) {
      return hostError("the module's `builtins` export is not a map of names to ids");
    }
    size_t i = id.get<size_t>();
    if (info->builtin_names.size() <= i) {
      info->builtin_names.resize(i + 1);
      info->builtins.resize(i + 1, nullptr);
    }
    info->builtin_names[i] = name;
    info->builtins[i] = findBuiltin(name);
  }
  auto entry_addr = guest.call("entrypoints", {});
  if (auto* err = errorOf(entry_addr)) return *err;
  auto entrypoints = guest.dumpJson(uint32_t(std::get<int32_t>(entry_addr)));
  if (auto* err = errorOf(entrypoints)) return *err;
  for (const auto& [name, id] : std::get<Json>(entrypoints).items()) {
    if (!id.is_number_integer()) {
      return hostError("the module's `entrypoints` export is not a map of names to ids");
    }
    info->entrypoints[name] = id.get<int32_t>();
  }
  return ModuleInfoPtr(std::move(info));
}

}  // namespace

// --- public API --------------------------------------------------------------------------

std::optional<AbiVersion> readAbiVersion(std::span<const uint8_t> wasm) {
  if (wasm.size() < 8) return std::nullopt;
  ByteReader r(wasm.subspan(8));
  uint32_t imported = 0;
  std::optional<std::vector<std::optional<int32_t>>> constants;
  std::optional<std::map<std::string, uint64_t>> exports;
  while (!r.done()) {
    auto id = r.byte();
    auto size = r.uleb();
    if (!id || !size) return std::nullopt;
    ByteReader section(
        wasm.subspan(8 + r.pos(), std::min<size_t>(*size, wasm.size() - 8 - r.pos())));
    if (*id == 2) imported = importedGlobals(section).value_or(0);
    if (*id == 6) constants = globalConstants(section);
    if (*id == 7) exports = exportedGlobals(section);
    if (!r.skip(*size)) return std::nullopt;
  }
  if (!constants || !exports) return std::nullopt;
  auto value = [&](const char* name) -> std::optional<int32_t> {
    auto it = exports->find(name);
    if (it == exports->end() || it->second < imported) return std::nullopt;
    size_t i = size_t(it->second - imported);
    return i < constants->size() ? (*constants)[i] : std::nullopt;
  };
  auto major = value("opa_wasm_abi_version");
  auto minor = value("opa_wasm_abi_minor_version");
  if (!major) return std::nullopt;
  return AbiVersion{*major, minor.value_or(0)};
}

Status checkAbiVersion(const AbiVersion& version) {
  if (version.major == 1) return okStatus();
  return makeError(
      fmt::format("unsupported OPA Wasm ABI version {}.{}", version.major, version.minor));
}

const wasm::ImportSet& importSet() {
  static const wasm::ImportSet set = buildImportSet();
  return set;
}

std::vector<std::string> ModuleInfo::missingBuiltins() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < builtins.size(); ++i) {
    if (!builtins[i] && !builtin_names[i].empty()) out.push_back(builtin_names[i]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool ModuleInfo::hasEntrypoint(int32_t id) const {
  return std::any_of(entrypoints.begin(), entrypoints.end(),
                     [id](const auto& e) { return e.second == id; });
}

OpaInstance::~OpaInstance() = default;

CallResult<std::unique_ptr<OpaInstance>> OpaInstance::create(wasm::Engine& engine,
                                                             const wasm::CompiledModulePtr& module,
                                                             Options options) {
  std::unique_ptr<OpaInstance> self(new OpaInstance());
  self->state_ = std::make_unique<HostState>();
  HostState& s = *self->state_;
  s.deadline = options.deadline;
  s.prints = options.prints;
  s.builtin_ctx.policy_id = std::move(options.policy_id);
  s.builtin_ctx.traces = options.prints;

  wasm::InstanceOptions io;
  io.imports = &importSet();
  io.host_data = &s;
  io.deadline = options.deadline;
  io.imported_memory_min_pages = kMemoryMinPages;
  auto inst = engine.instantiate(module, io);
  if (auto* err = errorOf(inst)) return *err;
  self->instance_ = std::move(std::get<wasm::InstancePtr>(inst));
  s.instance = self->instance_.get();

  Guest guest(*s.instance, s.deadline);
  if (!options.info) {
    auto info = readModuleInfo(guest);
    if (auto* err = errorOf(info)) return *err;
    options.info = std::get<ModuleInfoPtr>(info);
  }
  self->info_ = s.info = options.info;
  auto heap = guest.call("opa_heap_ptr_get", {});
  if (auto* err = errorOf(heap)) return *err;
  self->base_heap_ptr_ = self->data_heap_ptr_ = uint32_t(std::get<int32_t>(heap));
  return self;
}

CallResult<Done> OpaInstance::setData(std::string_view data_json) {
  Guest guest(*instance_, state_->deadline);
  auto reset = guest.call("opa_heap_ptr_set", {int32_t(base_heap_ptr_)});
  if (auto* err = errorOf(reset)) return *err;
  auto addr = guest.load(data_json);
  if (auto* err = errorOf(addr)) return *err;
  auto heap = guest.call("opa_heap_ptr_get", {});
  if (auto* err = errorOf(heap)) return *err;
  data_addr_ = std::get<uint32_t>(addr);
  data_heap_ptr_ = uint32_t(std::get<int32_t>(heap));
  return Done{};
}

CallResult<std::string> OpaInstance::evaluate(int32_t entrypoint, std::string_view input_json) {
  if (!info_->hasEntrypoint(entrypoint)) {
    return CallError{FailKind::NotFound,
                     fmt::format("the module has no entrypoint with id {}", entrypoint)};
  }
  if (!data_addr_) {
    auto done = setData("{}");
    if (auto* err = errorOf(done)) return *err;
  }
  state_->builtin_ctx.now_ns.reset();  // time.now_ns is fixed per evaluation, not per instance
  Guest guest(*instance_, state_->deadline);
  auto reset = guest.call("opa_heap_ptr_set", {int32_t(data_heap_ptr_)});
  if (auto* err = errorOf(reset)) return *err;
  auto input = guest.load(input_json);
  if (auto* err = errorOf(input)) return *err;
  auto ctx = guest.call("opa_eval_ctx_new", {});
  if (auto* err = errorOf(ctx)) return *err;
  int32_t c = std::get<int32_t>(ctx);
  for (auto [fn, arg] : {std::pair<const char*, int32_t>{"opa_eval_ctx_set_input",
                                                         int32_t(std::get<uint32_t>(input))},
                         {"opa_eval_ctx_set_data", int32_t(*data_addr_)},
                         {"opa_eval_ctx_set_entrypoint", entrypoint}}) {
    auto r = guest.call(fn, {c, arg});
    if (auto* err = errorOf(r)) return *err;
  }
  auto evaluated = guest.call("eval", {c});  // the return value is reserved by the ABI
  if (auto* err = errorOf(evaluated)) return *err;
  auto result = guest.call("opa_eval_ctx_get_result", {c});
  if (auto* err = errorOf(result)) return *err;
  return guest.dump(uint32_t(std::get<int32_t>(result)));
}

}  // namespace kw::opa
