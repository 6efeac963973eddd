// A C interface to the CUDA launchers for scripts/gpu/gpu-check.py, the check that runs on a GPU
// machine (no onnxruntime there is built with CUDA): every op case on the real GPU, on a stream the
// caller gives, and the benchmarks. The attributes arrive as flat arrays (a length of -1: absent)
// and go through the same schema structs and plans (kernels/common/plans.h) as the onnxruntime
// kernels. Each call first plans (dry = 1: output dims only, with every check of the kernels,
// values included where host copies are given), then launches (dry = 0) on device pointers.
// Returns 0, or 1 with the kernels' error message in err.
#include <cstring>

#include "../launch_args.h"
#include "../weight_scan.h"

namespace {

std::optional<std::vector<int64_t>> List(const int64_t* v, int n) {
  if (n < 0) return std::nullopt;
  return std::vector<int64_t>(v, v + n);
}

void Dims(const std::vector<int64_t>& ys, int64_t* out, int* rank) {
  for (size_t i = 0; i < ys.size(); ++i) out[i] = ys[i];
  *rank = static_cast<int>(ys.size());
}

template <typename F>
int Guarded(char* err, int errlen, F&& f) {
  try {
    f();
    return 0;
  } catch (const std::exception& e) {
    std::snprintf(err, static_cast<size_t>(errlen), "%s", e.what());
    return 1;
  }
}

void Launched(cudaError_t e, const char* op) {
  if (e != cudaSuccess) lp::Fail(op, "gpu-check", std::string("CUDA error: ") + cudaGetErrorString(e));
}

// Device scratch a launcher needs (L1Conv's tap table, LpNorm's powered rows): one buffer per
// launcher for the process, rewritten in stream order by each launch, grown (after the stream's
// queued work) when a case needs more.
struct ProcessScratch {
  void* data = nullptr;
  size_t capacity = 0;
  void* Get(size_t bytes, void* stream, const char* op) {
    if (bytes > capacity) {
      Launched(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), op);
      if (data) Launched(cudaFree(data), op);
      data = nullptr;
      capacity = 0;
      Launched(cudaMalloc(&data, bytes), op);
      capacity = bytes;
    }
    return data;
  }
};

}  // namespace

extern "C" {

// Waits for the work queued on STREAM (the emulation's streams defer it too); 0, or the CUDA error.
__attribute__((visibility("default"))) int lp_gpu_synchronize(void* stream) {
  return static_cast<int>(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)));
}

__attribute__((visibility("default"))) int lp_gpu_lp_pool(const float* x, const int64_t* xdims, int xrank, const float* p_host,
                                                          const float* p_dev, const int64_t* pdims, int prank, const int64_t* kernel,
                                                          int nk, const int64_t* strides, int ns, const int64_t* pads, int npads,
                                                          const int64_t* dilations, int nd, const char* auto_pad, int64_t ceil_mode,
                                                          int64_t count_include_pad, float p, float eps, int64_t mean, const char* mode,
                                                          int64_t global, float* y, int64_t* ydims, int* yrank, void* stream, int dry,
                                                          char* err, int errlen) {
  return Guarded(err, errlen, [&] {
    lp::schema::LpPoolAttrs a;
    a.kernel_shape = List(kernel, nk);
    a.strides = List(strides, ns);
    a.pads = List(pads, npads);
    a.dilations = List(dilations, nd);
    a.auto_pad = auto_pad;
    a.ceil_mode = ceil_mode;
    a.count_include_pad = count_include_pad;
    a.p = p;
    a.eps = eps;
    a.mean = mean;
    a.mode = mode;
    a.global = global;
    const std::string node = "gpu-check";
    // the schema's value rules, as the kernels' attribute reader applies them
    lp::CheckValue(a.kOp, node, a.kAutoPad, a.auto_pad);
    lp::CheckValue(a.kOp, node, a.kCeilMode, a.ceil_mode);
    lp::CheckValue(a.kOp, node, a.kCountIncludePad, a.count_include_pad);
    lp::CheckValue(a.kOp, node, a.kP, a.p);
    lp::CheckValue(a.kOp, node, a.kEps, a.eps);
    lp::CheckValue(a.kOp, node, a.kMean, a.mean);
    lp::CheckValue(a.kOp, node, a.kMode, a.mode);
    lp::CheckValue(a.kOp, node, a.kGlobal, a.global);
    const std::vector<int64_t> xs(xdims, xdims + xrank), ps(pdims, pdims + (prank < 0 ? 0 : prank));
    const lp::LpPoolPlan plan = lp::PlanLpPool(a, node, xs, prank >= 0 ? &ps : nullptr);
    if (p_host) lp::CheckExponents(p_host, plan.np, a.kOp, node);
    Dims(plan.ys, ydims, yrank);
    if (dry || plan.count == 0) return;
    const lp::Cuda::LpPoolArgs g = lp::Cuda::LpPoolArgsOf(plan, a, x, p_dev, y);
    Launched(lp::Cuda::LaunchLpPool(g, static_cast<cudaStream_t>(stream)), a.kOp);
  });
}

__attribute__((visibility("default"))) int lp_gpu_l1_conv(const float* x, const int64_t* xdims, int xrank, const float* w,
                                                          const int64_t* wdims, int wrank, const float* b, const int64_t* bdims, int brank,
                                                          const int64_t* kernel, int nk, const int64_t* strides, int ns,
                                                          const int64_t* pads, int npads, const int64_t* dilations, int nd,
                                                          const char* auto_pad, int64_t group, float* y, int64_t* ydims, int* yrank,
                                                          void* stream, int dry, char* err, int errlen) {
  return Guarded(err, errlen, [&] {
    lp::schema::L1ConvAttrs a;
    a.kernel_shape = List(kernel, nk);
    a.strides = List(strides, ns);
    a.pads = List(pads, npads);
    a.dilations = List(dilations, nd);
    a.auto_pad = auto_pad;
    a.group = group;
    const std::string node = "gpu-check";
    lp::CheckValue(a.kOp, node, a.kAutoPad, a.auto_pad);
    lp::CheckValue(a.kOp, node, a.kGroup, a.group);
    const std::vector<int64_t> xs(xdims, xdims + xrank), ws(wdims, wdims + wrank), bs(bdims, bdims + (brank < 0 ? 0 : brank));
    const lp::L1ConvPlan plan = lp::PlanL1Conv(a, node, xs, ws, brank >= 0 ? &bs : nullptr);
    Dims(plan.ys, ydims, yrank);
    if (dry || plan.count == 0) return;
    const lp::Cuda::L1ConvArgs g = lp::Cuda::L1ConvArgsOf(plan, x, w, brank >= 0 ? b : nullptr, y);
    static ProcessScratch taps;
    void* table = taps.Get(static_cast<size_t>(lp::Cuda::L1ConvTapTableBytes(g)), stream, a.kOp);
    Launched(lp::Cuda::LaunchL1Conv(g, static_cast<lp::Cuda::L1ConvTap*>(table), static_cast<cudaStream_t>(stream)), a.kOp);
  });
}

__attribute__((visibility("default"))) int lp_gpu_lp_norm(const float* x, const int64_t* xdims, int xrank, const float* w_host,
                                                          const float* w, const int64_t* wdims, int wrank, const float* p_host,
                                                          const float* p_dev, const int64_t* pdims, int prank, float p, float eps,
                                                          float sum_eps, int64_t mean, const char* mode, float* y, int64_t* ydims,
                                                          int* yrank, void* stream, int dry, char* err, int errlen) {
  return Guarded(err, errlen, [&] {
    lp::schema::LpNormAttrs a;
    a.p = p;
    a.eps = eps;
    a.sum_eps = sum_eps;
    a.mean = mean;
    a.mode = mode;
    const std::string node = "gpu-check";
    lp::CheckValue(a.kOp, node, a.kP, a.p);
    lp::CheckValue(a.kOp, node, a.kEps, a.eps);
    lp::CheckValue(a.kOp, node, a.kSumEps, a.sum_eps);
    lp::CheckValue(a.kOp, node, a.kMean, a.mean);
    lp::CheckValue(a.kOp, node, a.kMode, a.mode);
    const std::vector<int64_t> xs(xdims, xdims + xrank), ws(wdims, wdims + wrank), ps(pdims, pdims + (prank < 0 ? 0 : prank));
    const lp::LpNormPlan plan = lp::PlanLpNorm(node, xs, ws, prank >= 0 ? &ps : nullptr);
    if (p_host) lp::CheckExponents(p_host, plan.np, a.kOp, node);
    if (w_host) {
      // W's values checked twice: on the device as for a W fed at run time, then on the host copy
      void* scan = nullptr;
      Launched(cudaMalloc(&scan, lp::Cuda::LpNormWeightScanBytes(plan.m, a.mean != 0)), a.kOp);
      struct Free {
        void* p;
        ~Free() { cudaFree(p); }
      } free_scan{scan};
      lp::Cuda::CheckDeviceLpNormWeights(node, w, plan.m, plan.k, a.mean != 0, scan, static_cast<cudaStream_t>(stream));
      lp::CheckLpNormWeights(node, w_host, plan.m, plan.k, a.mean != 0);
    }
    Dims(plan.ys, ydims, yrank);
    if (dry || plan.count == 0) return;
    const lp::Cuda::LpNormArgs g = lp::Cuda::LpNormArgsOf(plan, a, x, w, p_dev, y, p_host);
    static ProcessScratch work;
    void* rows = work.Get(static_cast<size_t>(lp::Cuda::LpNormWorkBytes(g)), stream, a.kOp);
    Launched(lp::Cuda::LaunchLpNorm(g, rows, static_cast<cudaStream_t>(stream)), a.kOp);
  });
}

}  // extern "C"
