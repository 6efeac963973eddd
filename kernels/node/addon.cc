// The lp-onnx/node addon: loads the libonnxruntime.so.1 that onnxruntime-node ships, registers the
// com.lponnx kernels on each session's options, and creates / runs sessions for TypeScript
// (src/node/binding.ts is the only module that loads it). Runs happen off the JS thread.
#include <dlfcn.h>
#include <fcntl.h>
#include <node_api.h>
#include <unistd.h>
#include <algorithm>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#define ORT_API_MANUAL_INIT
#include <onnxruntime_cxx_api.h>
#undef ORT_API_MANUAL_INIT

#include "cpu_isa.h"
#if defined(LP_CUDA_EMULATION)
#include "../cuda/cuda_compat.h"
#endif
#include "peaks.h"

extern "C" OrtStatus* ORT_API_CALL RegisterCustomOps(OrtSessionOptions* options, const OrtApiBase* api_base);

namespace {

const OrtApiBase* g_base = nullptr;
std::unique_ptr<Ort::Env> g_env;

#define NAPI(call)                                                         \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, nullptr, "lp-onnx native: N-API call failed"); \
      return nullptr;                                                      \
    }                                                                      \
  } while (0)

napi_value Throw(napi_env env, const std::string& msg) {
  napi_throw_error(env, nullptr, msg.c_str());
  return nullptr;
}

std::string GetString(napi_env env, napi_value v) {
  size_t n = 0;
  napi_get_value_string_utf8(env, v, nullptr, 0, &n);
  std::string s(n, '\0');
  napi_get_value_string_utf8(env, v, s.data(), n + 1, &n);
  return s;
}

napi_value Prop(napi_env env, napi_value obj, const char* name) {
  napi_value v = nullptr;
  bool has = false;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) return nullptr;
  napi_get_named_property(env, obj, name, &v);
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_undefined || t == napi_null ? nullptr : v;
}

struct TypeInfo {
  const char* name;
  ONNXTensorElementDataType ort;
  size_t bytes;
  napi_typedarray_type js;
};
const TypeInfo kTypes[] = {
    {"float32", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, 4, napi_float32_array},
    {"float64", ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE, 8, napi_float64_array},
    {"float16", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16, 2, napi_uint16_array},  // bit patterns, as onnxruntime-common holds them
    {"int64", ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, 8, napi_bigint64_array},
    {"int32", ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, 4, napi_int32_array},
    {"uint8", ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8, 1, napi_uint8_array},
    {"int8", ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8, 1, napi_int8_array},
    {"bool", ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL, 1, napi_uint8_array},
};
const TypeInfo* ByName(const std::string& n) {
  for (const auto& t : kTypes)
    if (n == t.name) return &t;
  return nullptr;
}
const TypeInfo* ByOrt(ONNXTensorElementDataType o) {
  for (const auto& t : kTypes)
    if (o == t.ort) return &t;
  return nullptr;
}

size_t TypedArrayElementBytes(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array:
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      return 1;
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    default:
      return 8;
  }
}

struct Session {
  std::unique_ptr<Ort::Session> session;
  std::vector<std::string> inputs, outputs;
};

// init(libonnxruntimePath): load onnxruntime-node's own runtime library.
napi_value Init(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (g_base != nullptr) return nullptr;
  const std::string path = GetString(env, argv[0]);
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (lib == nullptr) return Throw(env, "cannot load " + path + ": " + dlerror());
  using GetApiBase = const OrtApiBase* (*)();
  auto get = reinterpret_cast<GetApiBase>(dlsym(lib, "OrtGetApiBase"));
  if (get == nullptr) return Throw(env, path + " has no OrtGetApiBase");
  g_base = get();
  const OrtApi* api = g_base->GetApi(ORT_API_VERSION);
  if (api == nullptr) return Throw(env, path + " does not provide ORT API version " + std::to_string(ORT_API_VERSION));
  Ort::InitApi(api);
  try {
    g_env = std::make_unique<Ort::Env>(ORT_LOGGING_LEVEL_WARNING, "lp-onnx");
  } catch (const Ort::Exception& e) {
    return Throw(env, e.what());
  }
  napi_value version;
  NAPI(napi_create_string_utf8(env, g_base->GetVersionString(), NAPI_AUTO_LENGTH, &version));
  return version;
}

void Finalize(napi_env, void* data, void*) { delete static_cast<Session*>(data); }

Session* Unwrap(napi_env env, napi_value v) {
  void* p = nullptr;
  napi_get_value_external(env, v, &p);
  auto* s = static_cast<Session*>(p);
  if (s == nullptr || !s->session) {
    napi_throw_error(env, nullptr, "the session has been released");
    return nullptr;
  }
  return s;
}

// createSession(model: Uint8Array | string, options): External
napi_value CreateSession(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (!g_env) return Throw(env, "lp-onnx native: init() was not called");
  try {
    Ort::SessionOptions so;
    napi_value o = argv[1];
    if (napi_value v = Prop(env, o, "intraOpNumThreads")) {
      int32_t n;
      napi_get_value_int32(env, v, &n);
      so.SetIntraOpNumThreads(n);
    }
    if (napi_value v = Prop(env, o, "interOpNumThreads")) {
      int32_t n;
      napi_get_value_int32(env, v, &n);
      so.SetInterOpNumThreads(n);
    }
    if (napi_value v = Prop(env, o, "graphOptimizationLevel")) {
      const std::string l = GetString(env, v);
      so.SetGraphOptimizationLevel(l == "disabled"   ? ORT_DISABLE_ALL
                                   : l == "basic"    ? ORT_ENABLE_BASIC
                                   : l == "extended" ? ORT_ENABLE_EXTENDED
                                                     : ORT_ENABLE_ALL);
    }
    if (napi_value v = Prop(env, o, "logSeverityLevel")) {
      int32_t n;
      napi_get_value_int32(env, v, &n);
      so.SetLogSeverityLevel(n);
    }
    // the environment's level (onnxruntime's env.logLevel): it logs what fails while a session is
    // made, before the session's own logger exists
    if (napi_value v = Prop(env, o, "envLogSeverityLevel")) {
      int32_t n;
      napi_get_value_int32(env, v, &n);
      g_env->UpdateEnvWithCustomLogLevel(static_cast<OrtLoggingLevel>(std::clamp(n, 0, 4)));
    }
    if (napi_value v = Prop(env, o, "executionMode")) {
      so.SetExecutionMode(GetString(env, v) == "parallel" ? ORT_PARALLEL : ORT_SEQUENTIAL);
    }
    // configuration entries ([key, value] pairs; onnxruntime refuses the ones it knows to be bad)
    if (napi_value entries = Prop(env, o, "configEntries")) {
      uint32_t n = 0;
      napi_get_array_length(env, entries, &n);
      for (uint32_t i = 0; i < n; ++i) {
        napi_value kv, k, v;
        napi_get_element(env, entries, i, &kv);
        napi_get_element(env, kv, 0, &k);
        napi_get_element(env, kv, 1, &v);
        so.AddConfigEntry(GetString(env, k).c_str(), GetString(env, v).c_str());
      }
    }
    // Execution providers besides the CPU one: lp nodes stay on the CPU kernels, onnxruntime
    // places the other nodes on the provider.
    if (napi_value eps = Prop(env, o, "executionProviders")) {
      uint32_t n = 0;
      napi_get_array_length(env, eps, &n);
      for (uint32_t i = 0; i < n; ++i) {
        napi_value v;
        napi_get_element(env, eps, i, &v);
        const std::string ep = GetString(env, v);
        if (ep == "webgpu") {
          so.AppendExecutionProvider("WebGPU", {});
        } else if (ep == "cuda") {
          OrtCUDAProviderOptionsV2* cuda = nullptr;
          Ort::ThrowOnError(Ort::GetApi().CreateCUDAProviderOptions(&cuda));
          OrtStatus* st = Ort::GetApi().SessionOptionsAppendExecutionProvider_CUDA_V2(so, cuda);
          Ort::GetApi().ReleaseCUDAProviderOptions(cuda);
          if (st != nullptr) {
            const std::string why = Ort::GetApi().GetErrorMessage(st);
            Ort::GetApi().ReleaseStatus(st);
            return Throw(env,
                         "lp-onnx/node: the CUDA execution provider is not available here (" + why +
                             "); onnxruntime-node installs its CUDA provider when installed with network access on a machine with a GPU "
                             "(npm install onnxruntime-node without ONNXRUNTIME_NODE_INSTALL=skip)");
          }
        } else if (ep != "cpu") {
          return Throw(env, "lp-onnx/node: execution provider '" + ep + "' is not supported (cpu, webgpu, cuda)");
        }
      }
    }
    Ort::ThrowOnError(RegisterCustomOps(so, g_base));
    // the CPU kernels' instruction-set path for this session's kernels (made while it is created)
    std::string isa;
    if (napi_value v = Prop(env, o, "cpuIsa")) isa = GetString(env, v);
    struct IsaScope {
      explicit IsaScope(const std::string& name) { lp::SetIsaOverride(name); }
      ~IsaScope() { lp::SetIsaOverride(""); }
    } isa_scope(isa);
    auto s = std::make_unique<Session>();
    bool is_buffer = false;
    napi_is_typedarray(env, argv[0], &is_buffer);
    if (is_buffer) {
      napi_typedarray_type t;
      size_t len;
      void* data;
      napi_value ab;
      size_t off;
      NAPI(napi_get_typedarray_info(env, argv[0], &t, &len, &data, &ab, &off));
      s->session = std::make_unique<Ort::Session>(*g_env, data, len, so);
    } else {
      const std::string path = GetString(env, argv[0]);
      s->session = std::make_unique<Ort::Session>(*g_env, path.c_str(), so);
    }
    Ort::AllocatorWithDefaultOptions alloc;
    for (size_t i = 0; i < s->session->GetInputCount(); ++i) s->inputs.push_back(s->session->GetInputNameAllocated(i, alloc).get());
    for (size_t i = 0; i < s->session->GetOutputCount(); ++i) s->outputs.push_back(s->session->GetOutputNameAllocated(i, alloc).get());
    napi_value ext;
    NAPI(napi_create_external(env, s.release(), Finalize, nullptr, &ext));
    return ext;
  } catch (const Ort::Exception& e) {
    return Throw(env, e.what());
  }
}

napi_value Names(napi_env env, const std::vector<std::string>& names) {
  napi_value arr;
  napi_create_array_with_length(env, names.size(), &arr);
  for (size_t i = 0; i < names.size(); ++i) {
    napi_value s;
    napi_create_string_utf8(env, names[i].c_str(), NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, arr, i, s);
  }
  return arr;
}

// [{name, isTensor, type, shape}] for inputs or outputs; symbolic dims by name, unknown as -1.
napi_value Metadata(napi_env env, Session* s, bool inputs) {
  const auto& names = inputs ? s->inputs : s->outputs;
  napi_value arr;
  napi_create_array_with_length(env, names.size(), &arr);
  for (size_t i = 0; i < names.size(); ++i) {
    Ort::TypeInfo ti = inputs ? s->session->GetInputTypeInfo(i) : s->session->GetOutputTypeInfo(i);
    napi_value o, v;
    napi_create_object(env, &o);
    napi_create_string_utf8(env, names[i].c_str(), NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, o, "name", v);
    const bool tensor = ti.GetONNXType() == ONNX_TYPE_TENSOR;
    napi_get_boolean(env, tensor, &v);
    napi_set_named_property(env, o, "isTensor", v);
    if (tensor) {
      auto t = ti.GetTensorTypeAndShapeInfo();
      const TypeInfo* ty = ByOrt(t.GetElementType());
      napi_create_string_utf8(env, ty ? ty->name : "unknown", NAPI_AUTO_LENGTH, &v);
      napi_set_named_property(env, o, "type", v);
      const auto shape = t.GetShape();
      std::vector<const char*> sym(shape.size());
      t.GetSymbolicDimensions(sym.data(), sym.size());
      napi_value dims;
      napi_create_array_with_length(env, shape.size(), &dims);
      for (size_t d = 0; d < shape.size(); ++d) {
        napi_value dv;
        if (shape[d] < 0 && sym[d] != nullptr && sym[d][0] != '\0')
          napi_create_string_utf8(env, sym[d], NAPI_AUTO_LENGTH, &dv);
        else
          napi_create_int64(env, shape[d], &dv);
        napi_set_element(env, dims, d, dv);
      }
      napi_set_named_property(env, o, "shape", dims);
    }
    napi_set_element(env, arr, i, o);
  }
  return arr;
}

// sessionInfo(handle): { inputNames, outputNames, inputMetadata, outputMetadata }
napi_value SessionInfo(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  Session* s = Unwrap(env, argv[0]);
  if (s == nullptr) return nullptr;
  napi_value o;
  NAPI(napi_create_object(env, &o));
  NAPI(napi_set_named_property(env, o, "inputNames", Names(env, s->inputs)));
  NAPI(napi_set_named_property(env, o, "outputNames", Names(env, s->outputs)));
  try {
    NAPI(napi_set_named_property(env, o, "inputMetadata", Metadata(env, s, true)));
    NAPI(napi_set_named_property(env, o, "outputMetadata", Metadata(env, s, false)));
  } catch (const Ort::Exception& e) {
    return Throw(env, e.what());
  }
  return o;
}

napi_value Release(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  void* p = nullptr;
  napi_get_value_external(env, argv[0], &p);
  if (p != nullptr) static_cast<Session*>(p)->session.reset();
  return nullptr;
}

// run(handle, names, types, dims, buffers, outputNames, given?): Promise<[{name, type, dims, data}]>; given:
// per output null, or the caller's tensor {type, dims, data} that the run writes into (returned as data)
struct RunJob {
  Session* session;
  napi_ref session_ref;
  std::vector<std::string> in_names, out_names;
  std::vector<std::vector<int64_t>> dims;
  std::vector<const TypeInfo*> types;
  // the inputs' bytes, read in place (no copy): the references keep the JS arrays
  // alive until the run completes
  std::vector<void*> data;
  std::vector<size_t> bytes;
  std::vector<napi_ref> buffers;
  // the caller's own output tensors, written in place (no allocation, no fresh pages per run): per
  // output its bytes, or none where onnxruntime allocates it
  struct Given {
    const TypeInfo* type = nullptr;
    std::vector<int64_t> dims;
    void* data = nullptr;
    size_t bytes = 0;
    napi_ref array = nullptr;
  };
  std::vector<Given> given;
  std::vector<Ort::Value> results;
  std::string error;
  napi_deferred deferred;
  napi_async_work work;
};

void Execute(napi_env, void* p) {
  auto* job = static_cast<RunJob*>(p);
  try {
    Ort::MemoryInfo mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    std::vector<Ort::Value> inputs;
    std::vector<const char*> in_names, out_names;
    for (size_t i = 0; i < job->in_names.size(); ++i) {
      inputs.push_back(
          Ort::Value::CreateTensor(mem, job->data[i], job->bytes[i], job->dims[i].data(), job->dims[i].size(), job->types[i]->ort));
      in_names.push_back(job->in_names[i].c_str());
    }
    std::vector<Ort::Value> outputs;
    for (size_t i = 0; i < job->out_names.size(); ++i) {
      out_names.push_back(job->out_names[i].c_str());
      const auto& g = job->given[i];
      outputs.push_back(g.data ? Ort::Value::CreateTensor(mem, g.data, g.bytes, g.dims.data(), g.dims.size(), g.type->ort)
                               : Ort::Value{nullptr});
    }
    job->session->session->Run(Ort::RunOptions{nullptr}, in_names.data(), inputs.data(), inputs.size(), out_names.data(), outputs.data(),
                               outputs.size());
    job->results = std::move(outputs);
  } catch (const Ort::Exception& e) {
    job->error = e.what();
  } catch (const std::exception& e) {
    job->error = e.what();
  }
}

void Complete(napi_env env, napi_status, void* p) {
  std::unique_ptr<RunJob> job(static_cast<RunJob*>(p));
  napi_delete_reference(env, job->session_ref);
  for (napi_ref r : job->buffers) napi_delete_reference(env, r);
  // the caller's output arrays, taken before their references go
  std::vector<napi_value> given(job->given.size(), nullptr);
  for (size_t i = 0; i < job->given.size(); ++i)
    if (job->given[i].array) {
      napi_get_reference_value(env, job->given[i].array, &given[i]);
      napi_delete_reference(env, job->given[i].array);
    }
  napi_delete_async_work(env, job->work);
  if (!job->error.empty()) {
    napi_value msg, err;
    napi_create_string_utf8(env, job->error.c_str(), NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, nullptr, msg, &err);
    napi_reject_deferred(env, job->deferred, err);
    return;
  }
  napi_value arr;
  napi_create_array_with_length(env, job->results.size(), &arr);
  for (size_t i = 0; i < job->results.size(); ++i) {
    auto& v = job->results[i];
    auto ti = v.GetTensorTypeAndShapeInfo();
    const TypeInfo* t = ByOrt(ti.GetElementType());
    napi_value o, name, type, dims, ab, ta;
    napi_create_object(env, &o);
    napi_create_string_utf8(env, job->out_names[i].c_str(), NAPI_AUTO_LENGTH, &name);
    napi_set_named_property(env, o, "name", name);
    if (t == nullptr) {
      napi_value msg, err;
      napi_create_string_utf8(env, ("output '" + job->out_names[i] + "' has an element type lp-onnx/node does not return").c_str(),
                              NAPI_AUTO_LENGTH, &msg);
      napi_create_error(env, nullptr, msg, &err);
      napi_reject_deferred(env, job->deferred, err);
      return;
    }
    napi_create_string_utf8(env, t->name, NAPI_AUTO_LENGTH, &type);
    napi_set_named_property(env, o, "type", type);
    const auto shape = ti.GetShape();
    napi_create_array_with_length(env, shape.size(), &dims);
    for (size_t d = 0; d < shape.size(); ++d) {
      napi_value dv;
      napi_create_int64(env, shape[d], &dv);
      napi_set_element(env, dims, d, dv);
    }
    napi_set_named_property(env, o, "dims", dims);
    const size_t count = ti.GetElementCount();
    if (given[i] != nullptr) {
      // written in place: the caller's own array
      napi_set_named_property(env, o, "data", given[i]);
      napi_set_element(env, arr, i, o);
      continue;
    }
    if (count > 0) {
      // The output's own memory, not a copy: the array buffer holds the OrtValue (which holds its
      // allocator) until the JS side lets go of it; V8 is told of the bytes so that its collector
      // sees them.
      struct Held {
        Ort::Value value;
        int64_t bytes;
      };
      auto* held = new Held{std::move(v), static_cast<int64_t>(count * t->bytes)};
      napi_create_external_arraybuffer(
          env, const_cast<void*>(held->value.GetTensorRawData()), count * t->bytes,
          [](napi_env e, void*, void* hint) {
            auto* h = static_cast<Held*>(hint);
            int64_t total = 0;
            napi_adjust_external_memory(e, -h->bytes, &total);
            delete h;
          },
          held, &ab);
      int64_t total = 0;
      napi_adjust_external_memory(env, held->bytes, &total);
    } else {
      void* dst = nullptr;
      napi_create_arraybuffer(env, 0, &dst, &ab);
    }
    napi_create_typedarray(env, t->js, count, ab, 0, &ta);
    napi_set_named_property(env, o, "data", ta);
    napi_set_element(env, arr, i, o);
  }
  napi_resolve_deferred(env, job->deferred, arr);
}

napi_value Run(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  Session* s = Unwrap(env, argv[0]);
  if (s == nullptr) return nullptr;
  auto job = std::make_unique<RunJob>();
  job->session = s;
  std::vector<napi_value> arrays;
  // a tensor's type, dims and bytes from JS (what: "input 'X'"); the error text where they do not fit
  const auto tensor = [&](const std::string& what, napi_value type, napi_value dims, napi_value buf, RunJob::Given* g) -> std::string {
    g->type = ByName(GetString(env, type));
    if (g->type == nullptr) return what + ": unsupported element type " + GetString(env, type);
    uint32_t rank = 0;
    napi_get_array_length(env, dims, &rank);
    g->dims.assign(rank, 0);
    for (uint32_t k = 0; k < rank; ++k) {
      napi_value dv;
      napi_get_element(env, dims, k, &dv);
      napi_get_value_int64(env, dv, &g->dims[k]);
    }
    napi_typedarray_type tt;
    size_t len, off;
    napi_value ab;
    if (napi_get_typedarray_info(env, buf, &tt, &len, &g->data, &ab, &off) != napi_ok) return what + ": its data is not a typed array";
    size_t elem = 1;
    for (auto v : g->dims) {
      if (v < 0) return what + ": negative dimension";
      elem *= static_cast<size_t>(v);
    }
    g->bytes = elem * g->type->bytes;
    if (len * TypedArrayElementBytes(tt) < g->bytes)
      return what + ": its data has " + std::to_string(len * TypedArrayElementBytes(tt)) + " bytes, its dims need " +
             std::to_string(g->bytes);
    return "";
  };
  uint32_t n = 0;
  NAPI(napi_get_array_length(env, argv[1], &n));
  for (uint32_t i = 0; i < n; ++i) {
    napi_value name, type, dims, buf;
    napi_get_element(env, argv[1], i, &name);
    napi_get_element(env, argv[2], i, &type);
    napi_get_element(env, argv[3], i, &dims);
    napi_get_element(env, argv[4], i, &buf);
    job->in_names.push_back(GetString(env, name));
    RunJob::Given t;
    const std::string bad = tensor("input '" + job->in_names.back() + "'", type, dims, buf, &t);
    if (!bad.empty()) return Throw(env, bad);
    job->types.push_back(t.type);
    job->dims.push_back(t.dims);
    job->data.push_back(t.data);
    job->bytes.push_back(t.bytes);
    arrays.push_back(buf);
  }
  uint32_t no = 0;
  NAPI(napi_get_array_length(env, argv[5], &no));
  // argv[6] (optional): per output, null or the caller's own tensor {type, dims, data} to write into
  bool with_given = false;
  if (argc > 6) {
    napi_valuetype vt;
    napi_typeof(env, argv[6], &vt);
    with_given = vt == napi_object;
  }
  job->given.resize(no);
  std::vector<napi_value> given_arrays(no, nullptr);
  for (uint32_t i = 0; i < no; ++i) {
    napi_value name;
    napi_get_element(env, argv[5], i, &name);
    job->out_names.push_back(GetString(env, name));
    if (!with_given) continue;
    napi_value g;
    napi_valuetype gt;
    napi_get_element(env, argv[6], i, &g);
    napi_typeof(env, g, &gt);
    if (gt != napi_object) continue;
    napi_value type, dims, buf;
    napi_get_named_property(env, g, "type", &type);
    napi_get_named_property(env, g, "dims", &dims);
    napi_get_named_property(env, g, "data", &buf);
    const std::string bad = tensor("output '" + job->out_names.back() + "'", type, dims, buf, &job->given[i]);
    if (!bad.empty()) return Throw(env, bad);
    given_arrays[i] = buf;
  }
  for (uint32_t i = 0; i < no; ++i)
    if (given_arrays[i]) NAPI(napi_create_reference(env, given_arrays[i], 1, &job->given[i].array));
  NAPI(napi_create_reference(env, argv[0], 1, &job->session_ref));
  for (napi_value a : arrays) {
    napi_ref r;
    NAPI(napi_create_reference(env, a, 1, &r));
    job->buffers.push_back(r);
  }
  napi_value promise, resource;
  NAPI(napi_create_promise(env, &job->deferred, &promise));
  NAPI(napi_create_string_utf8(env, "lp-onnx.run", NAPI_AUTO_LENGTH, &resource));
  NAPI(napi_create_async_work(env, nullptr, resource, Execute, Complete, job.get(), &job->work));
  NAPI(napi_queue_async_work(env, job->work));
  job.release();
  return promise;
}

// peaks(isa: '' | 'auto' | 'avx512' | 'avx2' | 'plain', threads): the measured instruction peaks (peaks.h)
// of that instruction-set path, on that many threads; blocks for about a second.
napi_value MeasuredPeaks(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  if (argc < 2) return Throw(env, "peaks(isa, threads): two arguments expected");
  int32_t threads = 0;
  NAPI(napi_get_value_int32(env, argv[1], &threads));
  if (threads < 1 || threads > 1024) return Throw(env, "peaks: threads must be 1 to 1024, not " + std::to_string(threads));
  lp::Peaks pk;
  try {
    // '' : the sessions' own choice (LP_ONNX_CPU_ISA, else the best), so a bad variable is named as such
    lp::SetIsaOverride(GetString(env, argv[0]));
    const lp::Isa isa = lp::SelectIsa("peaks", "");
    lp::SetIsaOverride("");
    pk = lp::MeasurePeaks(isa, threads);
  } catch (const std::exception& e) {
    lp::SetIsaOverride("");
    // SelectIsa words its errors for a node ("peaks node '': ..."); this one is the addon's
    std::string what = e.what();
    const std::string node_prefix = "peaks node '': ";
    if (what.rfind(node_prefix, 0) == 0) what = what.substr(node_prefix.size());
    return Throw(env, "lp-onnx peaks: " + what);
  }
  napi_value out;
  NAPI(napi_create_object(env, &out));
  const std::pair<const char*, double> fields[] = {{"lanes", pk.lanes},      {"fma", pk.fma},          {"minAdd", pk.min_add},
                                                   {"exp2Dot", pk.exp2_dot}, {"powTerm", pk.pow_term}, {"add", pk.add},
                                                   {"readBytes", pk.read},   {"writeBytes", pk.write}};
  for (const auto& [name, v] : fields) {
    napi_value x;
    NAPI(napi_create_double(env, v, &x));
    NAPI(napi_set_named_property(env, out, name, x));
  }
  return out;
}

// quietStderr(on): while on, file descriptor 2 goes to /dev/null (the CLI's quiet window around
// Dawn's adapter discovery, which prints its limit warnings straight to stderr); off restores it.
int g_saved_stderr = -1;

napi_value QuietStderr(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI(napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  bool on = false;
  if (argc < 1 || napi_get_value_bool(env, argv[0], &on) != napi_ok) return Throw(env, "quietStderr(on): a boolean expected");
  fflush(stderr);
  if (on && g_saved_stderr < 0) {
    const int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null_fd < 0) return nullptr;
    g_saved_stderr = fcntl(2, F_DUPFD_CLOEXEC, 3);
    if (g_saved_stderr >= 0) dup2(null_fd, 2);
    close(null_fd);
  } else if (!on && g_saved_stderr >= 0) {
    dup2(g_saved_stderr, 2);
    close(g_saved_stderr);
    g_saved_stderr = -1;
  }
  return nullptr;
}

#if defined(LP_CUDA_EMULATION)
// The test build on the CUDA emulation: the compute capability its device reports (the tests run
// the pre-sm_80 paths this way).
napi_value SetEmulatedSm(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t sm = 0;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &sm) != napi_ok || sm < 75) {
    napi_throw_type_error(env, nullptr, "setEmulatedSm: expected a compute capability of 75 or more (as 75, 80, 90)");
    return nullptr;
  }
  lp_emu::ComputeCapability() = sm;
  return nullptr;
}
#endif

napi_value Module(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"init", nullptr, Init, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"createSession", nullptr, CreateSession, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"sessionInfo", nullptr, SessionInfo, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"run", nullptr, Run, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"release", nullptr, Release, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"peaks", nullptr, MeasuredPeaks, nullptr, nullptr, nullptr, napi_default, nullptr},
    {"quietStderr", nullptr, QuietStderr, nullptr, nullptr, nullptr, napi_default, nullptr},
#if defined(LP_CUDA_EMULATION)
    {"setEmulatedSm", nullptr, SetEmulatedSm, nullptr, nullptr, nullptr, napi_default, nullptr},
#endif
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Module)
