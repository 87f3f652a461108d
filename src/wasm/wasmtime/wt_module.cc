#include "wasm/wasmtime/wt_module.h"

#include "wasm/wasmtime/wt_instance.h"

namespace kw::wasm::wt {
namespace {

std::optional<ValType> fromWasm(const wasm_valtype_t* t) {
  switch (wasm_valtype_kind(t)) {
    case WASM_I32: return ValType::I32;
    case WASM_I64: return ValType::I64;
    case WASM_F32: return ValType::F32;
    case WASM_F64: return ValType::F64;
    default: return std::nullopt;
  }
}

wasm_valkind_t toWasm(ValType t) {
  switch (t) {
    case ValType::I32: return WASM_I32;
    case ValType::I64: return WASM_I64;
    case ValType::F32: return WASM_F32;
    case ValType::F64: return WASM_F64;
  }
  return WASM_I32;
}

// Numeric signatures only: an export taking references cannot be called through our interface.
std::optional<FuncType> funcTypeOf(const wasm_functype_t* ft) {
  FuncType out;
  auto convert = [](const wasm_valtype_vec_t* vec, std::vector<ValType>& into) {
    for (size_t i = 0; i < vec->size; ++i) {
      auto t = fromWasm(vec->data[i]);
      if (!t) return false;
      into.push_back(*t);
    }
    return true;
  };
  if (!convert(wasm_functype_params(ft), out.params)) return std::nullopt;
  if (!convert(wasm_functype_results(ft), out.results)) return std::nullopt;
  return out;
}

FuncTypePtr toFuncType(const FuncType& type) {
  auto vec = [](const std::vector<ValType>& types) {
    wasm_valtype_vec_t v;
    wasm_valtype_vec_new_uninitialized(&v, types.size());
    for (size_t i = 0; i < types.size(); ++i) v.data[i] = wasm_valtype_new(toWasm(types[i]));
    return v;
  };
  wasm_valtype_vec_t params = vec(type.params);
  wasm_valtype_vec_t results = vec(type.results);
  return FuncTypePtr(wasm_functype_new(&params, &results));
}

CallError linkError(std::string message) {
  return CallError{FailKind::Instantiate, std::move(message)};
}

}  // namespace

WtModule::WtModule(wasm_engine_t* engine, ModulePtr module, const binary::ModuleInfo& info)
    : engine_(engine), module_(std::move(module)), memory_(info.memory) {
  for (const auto& im : info.imports) {
    imports_.push_back({im.module, im.name, static_cast<ModuleImport::Kind>(im.kind)});
  }
  for (const auto& ex : info.exports) {
    exports_.push_back(ex.name);
    if (ex.kind == 2 && memory_export_.empty()) memory_export_ = ex.name;
  }
  wasm_exporttype_vec_t types;
  wasmtime_module_exports(module_.get(), &types);
  for (size_t i = 0; i < types.size; ++i) {
    const wasm_externtype_t* et = wasm_exporttype_type(types.data[i]);
    const wasm_functype_t* ft = wasm_externtype_as_functype_const(et);
    if (!ft) continue;
    if (auto type = funcTypeOf(ft)) {
      export_types_.emplace(toString(*wasm_exporttype_name(types.data[i])), std::move(*type));
    }
  }
  wasm_exporttype_vec_delete(&types);
}

const FuncType* WtModule::exportType(std::string_view name) const {
  auto it = export_types_.find(name);
  return it == export_types_.end() ? nullptr : &it->second;
}

std::variant<const Prelinked*, CallError> WtModule::prelinked(const ImportSet* set) const {
  std::lock_guard lock(mu_);
  for (const auto& [key, value] : linked_) {
    if (key == set) return value.get();
  }
  auto made = link(set);
  if (auto* error = std::get_if<CallError>(&made)) return *error;
  linked_.emplace_back(set, std::move(std::get<std::unique_ptr<Prelinked>>(made)));
  return linked_.back().second.get();
}

std::variant<std::unique_ptr<Prelinked>, CallError> WtModule::link(const ImportSet* set) const {
  auto out = std::make_unique<Prelinked>();
  out->linker.reset(wasmtime_linker_new(engine_));
  // A module may import the same function twice; defining it twice must not be an error.
  wasmtime_linker_allow_shadowing(out->linker.get(), true);
  for (const ModuleImport& im : imports_) {
    if (im.kind == ModuleImport::Kind::Memory && importsMemory()) continue;
    const HostFunction* fn = set ? set->find(im.module, im.name) : nullptr;
    if (im.kind != ModuleImport::Kind::Function || !fn) {
      return linkError("module imports `" + im.module + "`.`" + im.name +
                       "`, which this runtime does not provide");
    }
    FuncTypePtr type = toFuncType(fn->type);
    ErrorPtr error(wasmtime_linker_define_func(
        out->linker.get(), im.module.data(), im.module.size(), im.name.data(), im.name.size(),
        type.get(), &WtInstance::hostTrampoline, const_cast<HostFunction*>(fn), nullptr));
    if (error) return linkError(messageOf(error.get()));
  }
  if (importsMemory()) return out;  // its memory belongs to a store: linked per instance
  wasmtime_instance_pre_t* pre = nullptr;
  ErrorPtr error(wasmtime_linker_instantiate_pre(out->linker.get(), module_.get(), &pre));
  if (error) return linkError(messageOf(error.get()));
  out->pre.reset(pre);
  return out;
}

}  // namespace kw::wasm::wt
