// L1Conv on the CPU (ops.md), by |x - w| = x + w - 2 min(x, w): the window sums of x (one box
// filter per position, shared by every filter) and the filter sums of w come out of the inner loop,
// which accumulates min(x, w) only: one min and one add per tap where sub, abs and add were three.
// Per (n, group) the group's input channels are copied once, zero-padded, with each row split into
// `stride` phases so that a tap's inputs along the last axis are contiguous for any stride and
// dilation (float32 X without padding, stride 1 along rows of whole register tiles, is read in
// place). A task takes CB output channels and one output row; its tile of CB x NV vectors stays in
// registers over all (channel, tap) pairs and is combined into outputs there (float). The identity
// cancels where |x| and |w| are large and close: an output whose magnitude sums exceed
// 4 |sum |x - w|| + 1 is recomputed exactly (double, sub and abs), as is one the identity made NaN
// (a NaN input, or infinities of both signs).
#include "l1_conv.h"

#include "../common/half_value.h"
#include "half.h"

namespace lp {

namespace {
constexpr int64_t kCb = 4;                          // output channels per task
constexpr int64_t kMaxChunk = 64;                   // positions per register tile, the widest instruction set's (16 lanes x 4)
constexpr int64_t kSegment = 256;                   // positions per task of a long row or a flat plane (a multiple of kMaxChunk)
constexpr int64_t kBatchFloats = int64_t{1} << 21;  // padded floats of the planes batched together (8 MiB)
constexpr double kCancel = 4.0;                     // the cancellation the identity may have before an exact recompute

// The layout of the padded input of one group: [C_g][P0][P1][stride2 phases][R], position p2 of a
// row at phase p2 % stride2, index p2 / stride2 (then, for a flat layout, slack to the plane's end).
struct Padded {
  int64_t r = 0, row = 0, plane = 0;  // phase length, row length (all phases), channel plane
};

#pragma GCC diagnostic ignored "-Wpsabi"  // vector types only cross always-inline functions here

// The combination of a tile's min sums into outputs, per filter c of the block and position o:
// out = bias - d, d = sx + ws - 2 m (float). sx, sabs: the window sums of x and |x| at the tile's
// positions (zero past the row); ws, wa, bias: the block's kCb filter sums, magnitude sums and biases.
struct Combine {
  const float *sx, *sabs, *ws, *wa, *bias;
};

// Y tile of kCb filters along one output row, by M[c][o2] = sum over the group's channels and the
// taps of min(x, w), combined in registers (Combine) and stored at out + c * out_stride + o2. x0
// points at channel 0 of the row's first tap position, `off` holds each tap's offset. wp: the filters
// packed [C_g][taps][kCb]. Returns whether any output may have cancelled (sabs + wa > 4 |d| + 1) or
// is NaN: the caller then checks them one by one. Written with GCC vector types of L lanes, NV
// vectors wide.
template <int L, int NV>
__attribute__((always_inline)) inline bool MinRowImpl(const float* x0, int64_t plane, int64_t cg, const int64_t* off, int64_t taps,
                                                      const float* wp, int64_t count, const Combine& k, float* out, int64_t out_stride) {
  typedef float V __attribute__((vector_size(L * sizeof(float))));
  constexpr int64_t kChunk = int64_t{L} * NV;
  // per lane: the least margin 4 |d| + 1 - (sabs + wa) met, and 0 * margin summed, which turns NaN
  // where a margin is NaN or infinite (a comparison's mask kept across the loop made GCC scalarise it)
  V worst = V{}, probe = V{};
  for (int64_t o2 = 0; o2 < count; o2 += kChunk) {
    V acc[kCb][NV];
#pragma GCC unroll 4
    for (int c = 0; c < kCb; ++c)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[c][v] = V{};
    for (int64_t ci = 0; ci < cg; ++ci) {
      const float* xc = x0 + ci * plane + o2;
      const float* wc = wp + ci * taps * kCb;
      for (int64_t t = 0; t < taps; ++t) {
        const float* xs = xc + off[t];
        V x[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) std::memcpy(&x[v], xs + v * L, sizeof(V));
#pragma GCC unroll 4
        for (int c = 0; c < kCb; ++c) {
          const V w = wc[t * kCb + c] - V{};  // a broadcast (x - 0 is x for every x; V{} + x would add)
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v) acc[c][v] += x[v] < w ? x[v] : w;
        }
      }
    }
    V sx[NV], sabs[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      std::memcpy(&sx[v], k.sx + o2 + v * L, sizeof(V));
      std::memcpy(&sabs[v], k.sabs + o2 + v * L, sizeof(V));
    }
#pragma GCC unroll 4
    for (int c = 0; c < kCb; ++c) {
      const V ws = k.ws[c] - V{}, wa = k.wa[c] - V{}, bias = k.bias[c] - V{};
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        const V d = sx[v] + ws - (acc[c][v] + acc[c][v]);
        const V mag = d < 0 ? -d : d;
        const V margin = static_cast<float>(kCancel) * mag + 1.0f - (sabs[v] + wa);
        worst = margin < worst ? margin : worst;
        probe += margin * 0.0f;
        const V y = bias - d;
        std::memcpy(out + c * out_stride + o2 + v * L, &y, sizeof(V));
      }
    }
  }
  float least[L], probes[L];  // (GCC does not index a vector type here, in a template)
  std::memcpy(least, &worst, sizeof(worst));
  std::memcpy(probes, &probe, sizeof(probe));
  bool check = false;
  for (int i = 0; i < L; ++i) check |= least[i] < 0 || probes[i] != 0;
  return check;
}

#define LP_MIN_ROW_PARAMS                                                                                                          \
  (const float* x0, int64_t plane, int64_t cg, const int64_t* off, int64_t taps, const float* wp, int64_t count, const Combine& k, \
   float* out, int64_t out_stride)
#define LP_MIN_ROW_ARGS (x0, plane, cg, off, taps, wp, count, k, out, out_stride)
// AVX-512: 4 x 4 vectors of 16 (16 of the 32 registers hold the tile); AVX2: 4 x 2 of 8 (8 of 16);
// plain SSE: 4 x 2 of 4.
LP_TARGET_AVX512 bool MinRowAvx512 LP_MIN_ROW_PARAMS {
  // rows of 32 or fewer (3D volumes of 32^3) would leave half of a 64-wide tile idle
  if (count <= 32) return MinRowImpl<16, 2> LP_MIN_ROW_ARGS;
  return MinRowImpl<16, 4> LP_MIN_ROW_ARGS;
}
LP_TARGET_AVX2 bool MinRowAvx2 LP_MIN_ROW_PARAMS { return MinRowImpl<8, 2> LP_MIN_ROW_ARGS; }
bool MinRowPlain LP_MIN_ROW_PARAMS { return MinRowImpl<4, 2> LP_MIN_ROW_ARGS; }
constexpr bool(*MinRowVariants[]) LP_MIN_ROW_PARAMS = {MinRowPlain, MinRowAvx2, MinRowAvx512};

// sum and mag at positions [i0, i0 + n) of a plane: the sums over cg channel planes of x and of |x|
// (double), 16 positions at a time held in registers over all channels
__attribute__((always_inline)) inline void ChannelSumsImpl(const float* x, int64_t plane, int64_t cg, int64_t i0, int64_t n, double* sum,
                                                           double* mag) {
  constexpr int64_t kBlock = 16;
  for (int64_t i = i0; i < i0 + n; i += kBlock) {
    const int64_t len = std::min(kBlock, i0 + n - i);
    double a[kBlock] = {}, m[kBlock] = {};
    if (len == kBlock) {
      for (int64_t ci = 0; ci < cg; ++ci) {
        const float* xc = x + ci * plane + i;
#pragma GCC unroll 16
        for (int64_t j = 0; j < kBlock; ++j) {
          a[j] += xc[j];
          m[j] += std::fabs(xc[j]);
        }
      }
    } else {
      for (int64_t ci = 0; ci < cg; ++ci)
        for (int64_t j = 0; j < len; ++j) {
          a[j] += x[ci * plane + i + j];
          m[j] += std::fabs(x[ci * plane + i + j]);
        }
    }
    std::memcpy(sum + i, a, sizeof(double) * len);
    std::memcpy(mag + i, m, sizeof(double) * len);
  }
}
LP_ISA_VARIANTS(void, ChannelSums, (const float* x, int64_t plane, int64_t cg, int64_t i0, int64_t n, double* sum, double* mag),
                (x, plane, cg, i0, n, sum, mag))
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
  // a float16 X is converted as it is copied into the padded planes below (read once, 2 bytes a
  // value); float16 W and B converted whole (they are small)
  const StoredFloats xs16(xv);
  const FloatValues wf(isa_, wv, Role::kW), bf(isa_, bv, Role::kB);
  const float* b = bf.data();
  Ort::KernelContext kc(ctx);
  auto yv = kc.GetOutput(0, plan.ys);
  if (count == 0) return;
  FloatOutput yo(isa_, yv, ctx);
  float* y = yo.data();
  const float* w = wf.data();
  const Axis &A0 = axes[0], &A1 = axes[1], &A2 = axes[2];
  const int64_t P0 = A0.input + A0.pad_begin + A0.pad_end, P1 = A1.input + A1.pad_begin + A1.pad_end,
                P2 = A2.input + A2.pad_begin + A2.pad_end;
  const int64_t s2 = A2.stride;
  const int64_t in_plane = A0.input * A1.input * A2.input;
  const int64_t out_plane = A0.output * A1.output * A2.output;
  const int64_t taps = A0.kernel * A1.kernel * A2.kernel;
  const int64_t per_group = cout / group_;
  const int64_t blocks = (per_group + kCb - 1) / kCb;
  const int64_t rows = A0.output * A1.output;
  // The positions a task computes: a row of outputs (or a segment of a long one), its tile rounded
  // up to whole register tiles; or, when every stride is 1, a stretch of the padded plane read as one
  // long row ("flat"): an output's taps are then at fixed offsets from its padded position for any
  // of them, and the tiles run on across the row ends (the positions past a row's last output are
  // computed and left). Flat where it computes fewer positions (2D rows of 56: 3.5 % more against
  // 14 % for 64-wide tiles; 3D volumes of 32^3 stay in rows).
  const int64_t chunk = isa_ == Isa::kAvx512 ? (A2.output <= 32 ? 32 : 64) : isa_ == Isa::kAvx2 ? 16 : 8;
  const int64_t span = (A2.output + chunk - 1) / chunk * chunk;
  const bool strides_1 = A0.stride == 1 && A1.stride == 1 && s2 == 1;
  // the flat positions, from the first output's to the last one's
  const int64_t flat_count = ((A0.output - 1) * P1 + A1.output - 1) * P2 + A2.output;
  const bool flat = strides_1 && rows > 1 && (flat_count + chunk - 1) / chunk * chunk < rows * span;
  // X read where it lies, without the padded copy: float32, no padding, stride 1 along the rows and
  // rows of whole register tiles (a tile then reads no further than its row's last tap)
  bool unpadded = true;
  for (const Axis& a : axes) unpadded = unpadded && a.pad_begin == 0 && a.pad_end == 0;
  const bool in_place = xs16.f32 != nullptr && unpadded && s2 == 1 && !flat && A2.output % kMaxChunk == 0;

  Padded pd;
  pd.r = flat || in_place
             ? P2
             : std::max((P2 + s2 - 1) / s2, (A2.output + kMaxChunk - 1) / kMaxChunk * kMaxChunk + (A2.kernel - 1) * A2.dilation / s2 + 1);
  pd.row = s2 * pd.r;
  pd.plane = P0 * P1 * pd.row;
  // each tap's offset from the row's first position: rows of axes 0 and 1, phase and index on axis 2
  std::vector<int64_t> off(taps);
  for (int64_t k0 = 0, t = 0; k0 < A0.kernel; ++k0)
    for (int64_t k1 = 0; k1 < A1.kernel; ++k1)
      for (int64_t k2 = 0; k2 < A2.kernel; ++k2, ++t) {
        const int64_t d2 = k2 * A2.dilation;
        off[t] = (k0 * A0.dilation * P1 + k1 * A1.dilation) * pd.row + (d2 % s2) * pd.r + d2 / s2;
      }
  const auto row_base = [&](int64_t o0, int64_t o1) { return (o0 * A0.stride * P1 + o1 * A1.stride) * pd.row; };
  // flat tiles read up to a whole tile past the last position
  if (flat) pd.plane = std::max(pd.plane, (flat_count + kMaxChunk - 1) / kMaxChunk * kMaxChunk + off[taps - 1]);
  // the filters packed per block of kCb: [block][C_g][taps][kCb] (zero beyond the group), with their
  // magnitude sums (double, for the exact check), and their sums, magnitude sums and biases packed
  // [block][kCb] (float) for Combine
  std::vector<float> wp(group_ * blocks * cg * taps * kCb, 0.0f);
  std::vector<double> wabs(cout);
  std::vector<float> ws_packed(group_ * blocks * kCb, 0.0f), wa_packed(ws_packed.size(), 0.0f), bias_packed(ws_packed.size(), 0.0f);
  for (int64_t co = 0; co < cout; ++co) {
    const int64_t g = co / per_group, blk = (co % per_group) / kCb, c = (co % per_group) % kCb;
    double sum = 0, mag = 0;
    for (int64_t ci = 0; ci < cg; ++ci)
      for (int64_t t = 0; t < taps; ++t) {
        const float v = w[(co * cg + ci) * taps + t];
        wp[(((g * blocks + blk) * cg + ci) * taps + t) * kCb + c] = v;
        sum += v;
        mag += std::fabs(v);
      }
    wabs[co] = mag;
    const int64_t at = (g * blocks + blk) * kCb + c;
    ws_packed[at] = static_cast<float>(sum);
    wa_packed[at] = static_cast<float>(mag);
    bias_packed[at] = b ? b[co] : 0.0f;
  }
  const auto min_row = LP_ISA_CALL(isa_, MinRow);

  // A task's outputs: a stretch of positions [q0, q0 + len) of the padded plane (flat) or of one
  // row, and the pieces of it that are outputs: at `at` in the stretch, `len` long, output index `out`.
  struct Piece {
    int64_t at, len, out;
  };
  const int64_t segments = (A2.output + kSegment - 1) / kSegment;
  const int64_t tasks_per_plane = flat ? (flat_count + kSegment - 1) / kSegment : rows * segments;
  const auto task_of = [&](int64_t task, int64_t& q0, int64_t& len, std::vector<Piece>& pieces) {
    pieces.clear();
    if (!flat) {
      const int64_t q = task / segments, s0 = task % segments * kSegment;
      q0 = row_base(q / A1.output, q % A1.output) + s0;
      len = std::min(kSegment, A2.output - s0);
      pieces.push_back({0, len, q * A2.output + s0});
      return;
    }
    q0 = task * kSegment;
    len = std::min(kSegment, flat_count - q0);
    // the rows (o0, o1) the stretch meets, each from its padded position (o0 P1 + o1) P2
    for (int64_t r = q0 / P2; r * P2 < q0 + len; ++r) {
      const int64_t o0 = r / P1, o1 = r % P1;
      if (o1 >= A1.output) continue;
      const int64_t lo = std::max(q0, r * P2), hi = std::min(q0 + len, r * P2 + A2.output);
      if (lo < hi) pieces.push_back({lo - q0, hi - lo, (o0 * A1.output + o1) * A2.output + lo - r * P2});
    }
  };
  // planes (n) at a time: their padded copies together up to about 8 MiB, so that each phase below
  // is one parallel loop over all of them
  const int64_t batch = std::max<int64_t>(1, std::min<int64_t>(n, kBatchFloats / std::max<int64_t>(1, cg * pd.plane)));
  std::vector<float> padded;
  std::vector<double> csum, cabs;
  const auto channel_sums = LP_ISA_CALL(isa_, ChannelSums);
  constexpr int64_t kStretch = 4096;
  const int64_t stretches = (pd.plane + kStretch - 1) / kStretch;
  // every tap along the rows, a few positions apart: a task's channel sums are its own (its windows
  // reach little beyond its outputs), taken where it reads X anyway
  // (the furthest tap: with a stride along the rows, a later tap's phase may lie before an earlier one's)
  const int64_t reach = *std::max_element(off.begin(), off.end());
  const bool local_sums = A0.kernel == 1 && A1.kernel == 1 && reach <= kSegment / 4;

  for (int64_t n0 = 0; n0 < n; n0 += batch) {
    const int64_t nb = std::min(batch, n - n0);
    for (int64_t g = 0; g < group_; ++g) {
      // channel 0 of the group's input for plane j of the batch, each channel pd.plane further
      const auto group_x = [&](int64_t j) {
        return in_place ? xs16.f32 + ((n0 + j) * cin + g * cg) * in_plane : padded.data() + j * cg * pd.plane;
      };
      // the group's input channels, zero-padded and phase-split, one task per (plane, channel)
      if (!in_place) padded.assign(nb * cg * pd.plane, 0.0f);
      if (in_plane > 0 && !in_place)
        ParallelFor(ctx, static_cast<size_t>(nb * cg), [&](size_t task) {
          const int64_t nn = n0 + static_cast<int64_t>(task) / cg, ci = static_cast<int64_t>(task) % cg;
          const int64_t src = ((nn * cin) + g * cg + ci) * in_plane;
          float* dst = padded.data() + static_cast<int64_t>(task) * pd.plane;
          for (int64_t i0 = 0; i0 < A0.input; ++i0)
            for (int64_t i1 = 0; i1 < A1.input; ++i1) {
              const int64_t from = src + (i0 * A1.input + i1) * A2.input;
              float* to = dst + ((i0 + A0.pad_begin) * P1 + i1 + A1.pad_begin) * pd.row;
              if (s2 == 1) {
                if (xs16.f16)
                  HalfToFloat(isa_, xs16.f16 + from, A2.input, to + A2.pad_begin);
                else
                  std::memcpy(to + A2.pad_begin, xs16.f32 + from, sizeof(float) * A2.input);
                continue;
              }
              // position p2 = i2 + pad at phase p2 % s2, index p2 / s2 (counted, not divided)
              int64_t phase = A2.pad_begin % s2, idx = A2.pad_begin / s2;
              for (int64_t i2 = 0; i2 < A2.input; ++i2) {
                to[phase * pd.r + idx] = xs16.f16 ? HalfValue(xs16.f16[from + i2]) : xs16.f32[from + i2];
                if (++phase == s2) {
                  phase = 0;
                  ++idx;
                }
              }
            }
        });
      // the sums over the group's channels of x and of |x| at each padded position (double), in
      // stretches of each plane; each task below adds them up over its outputs' windows (or, with
      // local_sums, takes them itself over the positions it reads, while they are in cache)
      csum.resize(local_sums ? 0 : nb * pd.plane);
      cabs.resize(csum.size());
      if (!local_sums)
        ParallelFor(ctx, static_cast<size_t>(nb * stretches), [&](size_t task) {
          const int64_t j = static_cast<int64_t>(task) / stretches, i0 = static_cast<int64_t>(task) % stretches * kStretch;
          channel_sums(group_x(j), pd.plane, cg, i0, std::min(kStretch, pd.plane - i0), csum.data() + j * pd.plane,
                       cabs.data() + j * pd.plane);
        });
      // a task: a stretch of positions of one plane, for every block of filters in turn, so the input
      // it reads stays in cache while the blocks' filters stream past
      ParallelFor(ctx, static_cast<size_t>(nb * tasks_per_plane), [&](size_t task) {
        const int64_t j = static_cast<int64_t>(task) / tasks_per_plane, nn = n0 + j;
        int64_t q0 = 0, len = 0;
        std::vector<Piece> pieces;
        task_of(static_cast<int64_t>(task) % tasks_per_plane, q0, len, pieces);
        const float* xp = group_x(j);
        std::vector<double> own_sum, own_abs;
        if (local_sums) {
          own_sum.resize(len + reach);
          own_abs.resize(own_sum.size());
          channel_sums(xp + q0, pd.plane, cg, 0, static_cast<int64_t>(own_sum.size()), own_sum.data(), own_abs.data());
        }
        // the channel sums at position q0 + i: cs[i], ca[i]
        const double* cs = local_sums ? own_sum.data() : csum.data() + j * pd.plane + q0;
        const double* ca = local_sums ? own_abs.data() : cabs.data() + j * pd.plane + q0;
        const int64_t len_span = (len + kMaxChunk - 1) / kMaxChunk * kMaxChunk;
        std::vector<float> yt(kCb * len_span);
        // per position: the window sums of x and of |x| over the group's channels (double, and float
        // for Combine, zero past len)
        std::vector<double> sabs(len);
        std::vector<float> sx_f(len_span, 0.0f), sabs_f(len_span, 0.0f);
        for (int64_t i = 0; i < len; ++i) {
          double sum = 0, mag = 0;
          for (int64_t t = 0; t < taps; ++t) {
            sum += cs[off[t] + i];
            mag += ca[off[t] + i];
          }
          sabs[i] = mag;
          sx_f[i] = static_cast<float>(sum);
          sabs_f[i] = static_cast<float>(mag);
        }
        // sum |x - w| in double, straight from the padded input: the exact path for one output
        const auto exact = [&](int64_t co, int64_t q) {
          const float* wc = w + co * cg * taps;
          double d = 0;
          for (int64_t ci = 0; ci < cg; ++ci) {
            const float* xc = xp + ci * pd.plane + q;
            for (int64_t t = 0; t < taps; ++t) d += std::fabs(static_cast<double>(xc[off[t]]) - wc[ci * taps + t]);
          }
          return d;
        };
        for (int64_t blk = 0; blk < blocks; ++blk) {
          const int64_t co0 = g * per_group + blk * kCb;
          const int64_t nco = std::min(kCb, g * per_group + per_group - co0);
          const int64_t at = (g * blocks + blk) * kCb;
          const Combine k{sx_f.data(), sabs_f.data(), ws_packed.data() + at, wa_packed.data() + at, bias_packed.data() + at};
          // a row's segment of whole tiles for a whole block is written straight into Y
          const bool direct = !flat && len == len_span && nco == kCb;
          float* tile = direct ? y + (nn * cout + co0) * out_plane + pieces[0].out : yt.data();
          const int64_t tile_stride = direct ? out_plane : len_span;
          const bool check =
              min_row(xp + q0, pd.plane, cg, off.data(), taps, wp.data() + (g * blocks + blk) * cg * taps * kCb, len, k, tile, tile_stride);
          for (int64_t c = 0; c < nco; ++c) {
            const int64_t co = co0 + c;
            const double bias = b ? b[co] : 0.0;
            for (const Piece& pc : pieces) {
              float* out = y + (nn * cout + co) * out_plane + pc.out;
              const float* from = tile + c * tile_stride + pc.at;
              if (!direct) std::memcpy(out, from, sizeof(float) * pc.len);
              if (!check) continue;
              // the tile cancelled or met a NaN somewhere: each output whose d = bias - out cancelled
              // (or is NaN) again, in double, from the input
              for (int64_t i = 0; i < pc.len; ++i)
                if (!(sabs[pc.at + i] + wabs[co] <= kCancel * std::fabs(bias - from[i]) + 1.0))
                  out[i] = static_cast<float>(bias - exact(co, q0 + pc.at + i));
            }
          }
        }
      });
    }
  }
}

}  // namespace lp
