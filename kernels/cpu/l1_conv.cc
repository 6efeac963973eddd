// L1Conv on the CPU (ops.md): a blocked direct convolution. Per (n, group) the group's input
// channels are copied once, zero-padded; each task takes 4 output channels and accumulates
// |x - w| row by row over the output (the vectorised inner loop), so every loaded input value
// serves 4 filters. No im2col buffer.
#include "l1_conv.h"

#include <immintrin.h>

namespace lp {

namespace {
constexpr int64_t kChannelBlock = 4;

// acc_c[o] += |x[o * stride] - w_c| for 4 filters along one output row.
__attribute__((always_inline)) inline void AbsDiffRow4Impl(const float* x, int64_t stride, int64_t count, const float* w, float* a0,
                                                           float* a1, float* a2, float* a3) {
  const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
  if (stride == 1) {
    for (int64_t o = 0; o < count; ++o) {
      const float v = x[o];
      a0[o] += std::fabs(v - w0);
      a1[o] += std::fabs(v - w1);
      a2[o] += std::fabs(v - w2);
      a3[o] += std::fabs(v - w3);
    }
  } else {
    for (int64_t o = 0; o < count; ++o) {
      const float v = x[o * stride];
      a0[o] += std::fabs(v - w0);
      a1[o] += std::fabs(v - w1);
      a2[o] += std::fabs(v - w2);
      a3[o] += std::fabs(v - w3);
    }
  }
}
LP_ISA_VARIANTS(void, AbsDiffRow4,
                (const float* x, int64_t stride, int64_t count, const float* w, float* a0, float* a1, float* a2, float* a3),
                (x, stride, count, w, a0, a1, a2, a3))

// Stride-1 rows on AVX-512: a tile of 4 channels x 32 positions stays in registers for the whole
// (channel, tap) loop; input rows are loaded as vectors (masked at the row's end), each weight is
// broadcast. Used when the CPU has AVX-512 (cpu_isa.h); other rows take AbsDiffRow4.
struct Tile {
  const float* padded;  // the group's padded input
  const float* w;       // filters [C_out][C_g][taps]
  int64_t cg, taps, pad_plane, p1, p2;
  const Axis* a;
};

LP_TARGET_AVX512 void L1RowsAvx512(const Tile& t, int64_t co0, int64_t nco, int64_t o0, int64_t o1, float* acc, int64_t acc_stride) {
  const Axis &A0 = t.a[0], &A1 = t.a[1], &A2 = t.a[2];
  for (int64_t o2 = 0; o2 < A2.output; o2 += 32) {
    const int64_t left = A2.output - o2;
    const __mmask16 m0 = left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
    const __mmask16 m1 = left >= 32 ? static_cast<__mmask16>(0xffff) : left > 16 ? static_cast<__mmask16>((1u << (left - 16)) - 1) : 0;
    __m512 a00 = _mm512_setzero_ps(), a01 = _mm512_setzero_ps(), a10 = _mm512_setzero_ps(), a11 = _mm512_setzero_ps();
    __m512 a20 = _mm512_setzero_ps(), a21 = _mm512_setzero_ps(), a30 = _mm512_setzero_ps(), a31 = _mm512_setzero_ps();
    for (int64_t ci = 0; ci < t.cg; ++ci) {
      const float* plane = t.padded + ci * t.pad_plane;
      int64_t tap = 0;
      for (int64_t k0 = 0; k0 < A0.kernel; ++k0) {
        for (int64_t k1 = 0; k1 < A1.kernel; ++k1) {
          const float* row = plane + ((o0 * A0.stride + k0 * A0.dilation) * t.p1 + o1 * A1.stride + k1 * A1.dilation) * t.p2 + o2;
          for (int64_t k2 = 0; k2 < A2.kernel; ++k2, ++tap) {
            const float* xs = row + k2 * A2.dilation;
            const __m512 x0 = _mm512_maskz_loadu_ps(m0, xs);
            const __m512 x1 = _mm512_maskz_loadu_ps(m1, xs + 16);
            const float* wt = t.w + (co0 * t.cg + ci) * t.taps + tap;
            const int64_t wstep = t.cg * t.taps;
            const __m512 w0 = _mm512_set1_ps(wt[0]);
            const __m512 w1 = _mm512_set1_ps(nco > 1 ? wt[wstep] : 0.0f);
            const __m512 w2 = _mm512_set1_ps(nco > 2 ? wt[2 * wstep] : 0.0f);
            const __m512 w3 = _mm512_set1_ps(nco > 3 ? wt[3 * wstep] : 0.0f);
            a00 = _mm512_add_ps(a00, _mm512_abs_ps(_mm512_sub_ps(x0, w0)));
            a01 = _mm512_add_ps(a01, _mm512_abs_ps(_mm512_sub_ps(x1, w0)));
            a10 = _mm512_add_ps(a10, _mm512_abs_ps(_mm512_sub_ps(x0, w1)));
            a11 = _mm512_add_ps(a11, _mm512_abs_ps(_mm512_sub_ps(x1, w1)));
            a20 = _mm512_add_ps(a20, _mm512_abs_ps(_mm512_sub_ps(x0, w2)));
            a21 = _mm512_add_ps(a21, _mm512_abs_ps(_mm512_sub_ps(x1, w2)));
            a30 = _mm512_add_ps(a30, _mm512_abs_ps(_mm512_sub_ps(x0, w3)));
            a31 = _mm512_add_ps(a31, _mm512_abs_ps(_mm512_sub_ps(x1, w3)));
          }
        }
      }
    }
    float* out = acc + o2;
    _mm512_mask_storeu_ps(out, m0, a00);
    _mm512_mask_storeu_ps(out + 16, m1, a01);
    _mm512_mask_storeu_ps(out + acc_stride, m0, a10);
    _mm512_mask_storeu_ps(out + acc_stride + 16, m1, a11);
    _mm512_mask_storeu_ps(out + 2 * acc_stride, m0, a20);
    _mm512_mask_storeu_ps(out + 2 * acc_stride + 16, m1, a21);
    _mm512_mask_storeu_ps(out + 3 * acc_stride, m0, a30);
    _mm512_mask_storeu_ps(out + 3 * acc_stride + 16, m1, a31);
  }
}

}  // namespace

L1ConvKernel::L1ConvKernel(const OrtKernelInfo* info) {
  const AttrReader r(info, kName);
  node_ = r.node();
  attrs_ = schema::L1ConvAttrs::Read(r);
  isa_ = SelectIsa(kName, node_);
  group_ = attrs_.group;
  Ort::ConstKernelInfo ki(info);
  CheckDeclaredLengths(ki, attrs_, node_);
  // constant W (and B): their shapes are checked here, once
  int is_const = 0;
  auto w = ki.GetTensorConstantInput(1, &is_const);
  if (is_const) CheckL1ConvWeights(node_, group_, w.GetTensorTypeAndShapeInfo().GetShape(), nullptr);
}

void L1ConvKernel::Compute(OrtKernelContext* ctx) {
  const OrtValue* xv = OptionalInput(ctx, 0);
  const OrtValue* wv = OptionalInput(ctx, 1);
  const OrtValue* bv = OptionalInput(ctx, 2);
  if (xv == nullptr || wv == nullptr) Fail(kName, node_, "inputs X and W are required");
  const auto xs = ShapeOf(xv);
  const auto ws = ShapeOf(wv);
  const std::vector<int64_t> bs = bv ? ShapeOf(bv) : std::vector<int64_t>{};
  L1ConvPlan plan = PlanL1Conv(attrs_, node_, xs, ws, bv ? &bs : nullptr);
  const int64_t n = plan.n, cin = plan.cin, cout = plan.cout, cg = plan.cg, count = plan.count;
  const std::vector<Axis>& axes = plan.axes;
  const float* b = bv ? DataOf(bv) : nullptr;
  Ort::KernelContext kc(ctx);
  auto yv = kc.GetOutput(0, plan.ys);
  if (count == 0) return;
  float* y = yv.GetTensorMutableData<float>();
  const float* x = DataOf(xv);
  const float* w = DataOf(wv);
  const Axis &A0 = axes[0], &A1 = axes[1], &A2 = axes[2];
  const int64_t P0 = A0.input + A0.pad_begin + A0.pad_end, P1 = A1.input + A1.pad_begin + A1.pad_end,
                P2 = A2.input + A2.pad_begin + A2.pad_end;
  const int64_t in_plane = A0.input * A1.input * A2.input, pad_plane = P0 * P1 * P2;
  const int64_t out_plane = A0.output * A1.output * A2.output;
  const int64_t taps = A0.kernel * A1.kernel * A2.kernel;
  const int64_t per_group = cout / group_;
  const int64_t blocks = (per_group + kChannelBlock - 1) / kChannelBlock;

  for (int64_t nn = 0; nn < n; ++nn) {
    for (int64_t g = 0; g < group_; ++g) {
      // the group's input channels, zero-padded
      std::vector<float> padded(cg * pad_plane, 0.0f);
      for (int64_t ci = 0; ci < cg && in_plane > 0; ++ci) {
        const float* src = x + ((nn * cin) + g * cg + ci) * in_plane;
        float* dst = padded.data() + ci * pad_plane;
        for (int64_t i0 = 0; i0 < A0.input; ++i0)
          for (int64_t i1 = 0; i1 < A1.input; ++i1)
            std::memcpy(dst + ((i0 + A0.pad_begin) * P1 + i1 + A1.pad_begin) * P2 + A2.pad_begin, src + (i0 * A1.input + i1) * A2.input,
                        sizeof(float) * A2.input);
      }
      ParallelFor(ctx, static_cast<size_t>(blocks), [&](size_t blk) {
        const int64_t co0 = g * per_group + static_cast<int64_t>(blk) * kChannelBlock;
        const int64_t nco = std::min(kChannelBlock, g * per_group + per_group - co0);
        std::vector<float> acc(kChannelBlock * out_plane, 0.0f);
        if (isa_ == Isa::kAvx512 && A2.stride == 1) {
          const Tile tile{padded.data(), w, cg, taps, pad_plane, P1, P2, axes.data()};
          for (int64_t o0 = 0; o0 < A0.output; ++o0)
            for (int64_t o1 = 0; o1 < A1.output; ++o1)
              L1RowsAvx512(tile, co0, nco, o0, o1, acc.data() + (o0 * A1.output + o1) * A2.output, out_plane);
          for (int64_t q = 0; q < nco; ++q) {
            float* out = y + (nn * cout + co0 + q) * out_plane;
            const float bias = b ? b[co0 + q] : 0.0f;
            for (int64_t o = 0; o < out_plane; ++o) out[o] = bias - acc[q * out_plane + o];
          }
          return;
        }
        float wq[kChannelBlock];
        for (int64_t ci = 0; ci < cg; ++ci) {
          const float* xp = padded.data() + ci * pad_plane;
          for (int64_t t = 0; t < taps; ++t) {
            const int64_t k0 = t / (A1.kernel * A2.kernel), k1 = (t / A2.kernel) % A1.kernel, k2 = t % A2.kernel;
            for (int64_t q = 0; q < kChannelBlock; ++q) wq[q] = q < nco ? w[((co0 + q) * cg + ci) * taps + t] : 0.0f;
            for (int64_t o0 = 0; o0 < A0.output; ++o0) {
              for (int64_t o1 = 0; o1 < A1.output; ++o1) {
                const float* row =
                    xp + ((o0 * A0.stride + k0 * A0.dilation) * P1 + o1 * A1.stride + k1 * A1.dilation) * P2 + k2 * A2.dilation;
                const int64_t at = (o0 * A1.output + o1) * A2.output;
                LP_ISA_CALL(isa_, AbsDiffRow4)
                (row, A2.stride, A2.output, wq, acc.data() + at, acc.data() + out_plane + at, acc.data() + 2 * out_plane + at,
                 acc.data() + 3 * out_plane + at);
              }
            }
          }
        }
        for (int64_t q = 0; q < nco; ++q) {
          float* out = y + (nn * cout + co0 + q) * out_plane;
          const float bias = b ? b[co0 + q] : 0.0f;
          for (int64_t o = 0; o < out_plane; ++o) out[o] = bias - acc[q * out_plane + o];
        }
      });
    }
  }
}

}  // namespace lp
