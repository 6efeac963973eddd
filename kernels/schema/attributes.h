// Reading a node's attributes against the op schemas of ops/ (kernels/schema/lp_schema.h is written
// from them by scripts/gen-native-schema.ts). Every native kernel, CPU or CUDA, reads its attributes
// only through AttrReader: the kinds, defaults, allowed values, bounds and per-axis lengths are those
// of ops/, and the messages are those of ops/attributes.ts (checkAttributeValues,
// checkAttributeLengths), so every backend refuses a malformed node with the same words.
//
// onnxruntime gives a kernel no list of a node's attribute names (its custom-op schemas accept any),
// so an unknown name cannot be seen here; lp-onnx/node checks the model's lp nodes against ops/
// before the session is created. An attribute of the wrong kind is found by probing every kind.
#pragma once

#define ORT_API_MANUAL_INIT
#include <onnxruntime_cxx_api.h>
#undef ORT_API_MANUAL_INIT

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace lp {

// Build the message and throw it as an onnxruntime error ("LpNorm node 'n': ...").
[[noreturn]] inline void Fail(const std::string& op, const std::string& node, const std::string& what) {
  throw Ort::Exception(op + " node '" + node + "': " + what, ORT_INVALID_ARGUMENT);
}

// A number as JavaScript prints it (shortest round trip; exponent form below 1e-6 and from 1e21), so
// that messages read the same as the TypeScript reference's.
inline std::string JsNumber(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v == 0) return "0";
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*e", precision - 1, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  // buf: [-]d[.ddd]e[+-]xx
  std::string s(buf);
  const bool negative = s[0] == '-';
  if (negative) s.erase(0, 1);
  const size_t e = s.find('e');
  const int exponent = std::atoi(s.c_str() + e + 1);
  std::string digits = s.substr(0, 1) + (e > 1 ? s.substr(2, e - 2) : "");
  const int n = static_cast<int>(digits.size());
  std::string out;
  if (exponent >= 21 || exponent < -6) {
    out = digits.substr(0, 1) + (n > 1 ? "." + digits.substr(1) : "") + "e" + (exponent >= 0 ? "+" : "-") +
          std::to_string(std::abs(exponent));
  } else if (exponent >= 0) {
    out = exponent + 1 >= n ? digits + std::string(exponent + 1 - n, '0')
                            : digits.substr(0, exponent + 1) + "." + digits.substr(exponent + 1);
  } else {
    out = "0." + std::string(-exponent - 1, '0') + digits;
  }
  return negative ? "-" + out : out;
}

template <typename... A>
std::string Str(const A&... a) {
  std::ostringstream s;
  s.precision(9);
  (s << ... << a);
  return s.str();
}

enum class AttrKind { kFloat, kInt, kString, kInts };
// How many values a per-axis list holds for a spatial rank r: r, or r begins then r ends.
enum class Length { kAny, kPerAxis, kBeginEnd };

// One attribute of an op schema (ops/*.ts `attributes`), as data.
struct AttrSpec {
  const char* name;
  AttrKind kind;
  // enum-like attributes: the values allowed (nullptr / 0 when any)
  const int64_t* int_choices;
  size_t n_int_choices;
  const char* const* string_choices;
  size_t n_string_choices;
  bool has_min;
  double min;  // inclusive lower bound (every element of an ints list); NaN never passes
  bool has_above;
  double above;  // exclusive lower bound; NaN never passes
  Length length;
  int64_t fill;  // per-axis lists: the value of every axis when the list is absent
};

// ops/attributes.ts INT_MAX: every int and ints value lies in int32.
constexpr int64_t kIntMax = 2147483647;

// ops/attributes.ts bound(): "" when the value passes.
inline std::string AttrBound(const AttrSpec& spec, double v) {
  if (spec.has_min && !(v >= spec.min)) return "must be >= " + JsNumber(spec.min);
  if (spec.has_above && !(v > spec.above)) return "must be > " + JsNumber(spec.above) + (spec.kind == AttrKind::kFloat ? " (or +inf)" : "");
  if (spec.kind != AttrKind::kFloat && v > static_cast<double>(kIntMax)) return "must be <= " + std::to_string(kIntMax);
  return "";
}

inline std::string AttrChoices(const std::vector<std::string>& shown) {
  if (shown.size() == 2) return shown[0] + " or " + shown[1];
  std::string s = "one of ";
  for (size_t k = 0; k < shown.size(); ++k) s += (k ? ", " : "") + shown[k];
  return s;
}

// The value rules of the schema for one scalar (ops/attributes.ts checkAttributeValues): allowed
// values, then bounds; the same messages as ops/.
inline void CheckValue(const char* op, const std::string& node, const AttrSpec& spec, float v) {
  const std::string why = AttrBound(spec, v);
  if (!why.empty()) Fail(op, node, Str("attribute ", spec.name, " = ", JsNumber(v), "; ", why));
}
inline void CheckValue(const char* op, const std::string& node, const AttrSpec& spec, int64_t v) {
  if (spec.n_int_choices > 0) {
    std::vector<std::string> shown;
    for (size_t k = 0; k < spec.n_int_choices; ++k) {
      if (v == spec.int_choices[k]) return;
      shown.push_back(std::to_string(spec.int_choices[k]));
    }
    Fail(op, node, Str("attribute ", spec.name, " = ", v, "; must be ", AttrChoices(shown)));
  }
  const std::string why = AttrBound(spec, static_cast<double>(v));
  if (!why.empty()) Fail(op, node, Str("attribute ", spec.name, " = ", v, "; ", why));
}
inline void CheckValue(const char* op, const std::string& node, const AttrSpec& spec, const std::string& v) {
  if (spec.n_string_choices == 0) return;
  std::vector<std::string> shown;
  for (size_t k = 0; k < spec.n_string_choices; ++k) {
    if (v == spec.string_choices[k]) return;
    shown.push_back(std::string("\"") + spec.string_choices[k] + "\"");
  }
  Fail(op, node, Str("attribute ", spec.name, " = '", v, "'; must be ", AttrChoices(shown)));
}

class AttrReader {
 public:
  AttrReader(const OrtKernelInfo* info, const char* op) : info_(info), op_(op), node_(ReadNodeName(info)) {}

  const std::string& node() const { return node_; }
  const char* op() const { return op_; }
  [[noreturn]] void Fail(const std::string& what) const { lp::Fail(op_, node_, what); }

  // Each Get leaves the default in `out` when the attribute is absent, and refuses a value of the wrong
  // kind or outside the schema's rules.
  void Get(const AttrSpec& spec, float& out) const {
    const Raw r = Probe(spec.name);
    if (r.kind == Found::kAbsent) return;
    if (r.kind == Found::kFloat) {
      out = r.f;
    } else if (r.kind == Found::kInt) {
      out = static_cast<float>(r.i);  // an int where a float is expected is accepted, as in ops/
    } else {
      WrongKind(spec, r.kind);
    }
    CheckValue(op_, node_, spec, out);
  }
  void Get(const AttrSpec& spec, int64_t& out) const {
    const Raw r = Probe(spec.name);
    if (r.kind == Found::kAbsent) return;
    if (r.kind != Found::kInt) WrongKind(spec, r.kind);
    out = r.i;
    CheckValue(op_, node_, spec, out);
  }
  void Get(const AttrSpec& spec, std::string& out) const {
    const Raw r = Probe(spec.name);
    if (r.kind == Found::kAbsent) return;
    if (r.kind != Found::kString) WrongKind(spec, r.kind);
    out = r.s;
    CheckValue(op_, node_, spec, out);
  }
  void Get(const AttrSpec& spec, std::optional<std::vector<int64_t>>& out) const {
    const Raw r = Probe(spec.name);
    if (r.kind == Found::kAbsent) return;
    if (r.kind != Found::kInts) WrongKind(spec, r.kind);
    for (size_t i = 0; i < r.ints.size(); ++i) {
      const std::string why = AttrBound(spec, static_cast<double>(r.ints[i]));
      if (!why.empty()) Fail(Str("attribute ", spec.name, "[", i, "] = ", r.ints[i], "; ", why));
    }
    out = r.ints;
  }

 private:
  enum class Found { kAbsent, kFloat, kInt, kString, kInts, kFloats };
  struct Raw {
    Found kind = Found::kAbsent;
    float f = 0;
    int64_t i = 0;
    std::string s;
    std::vector<int64_t> ints;
  };

  static bool Ok(OrtStatus* st) {
    if (st == nullptr) return true;
    Ort::GetApi().ReleaseStatus(st);
    return false;
  }

  static std::string ReadNodeName(const OrtKernelInfo* info) {
    size_t size = 0;
    Ok(Ort::GetApi().KernelInfo_GetNodeName(info, nullptr, &size));
    std::string v(size, '\0');
    if (size > 0) Ort::ThrowOnError(Ort::GetApi().KernelInfo_GetNodeName(info, v.data(), &size));
    v.resize(size > 0 ? size - 1 : 0);
    return v;
  }

  // Which kind the attribute has (onnxruntime's getters check the kind of scalars, not of lists).
  Raw Probe(const char* name) const {
    const OrtApi& api = Ort::GetApi();
    Raw r;
    size_t size = 0;
    if (Ok(api.KernelInfoGetAttribute_float(info_, name, &r.f))) {
      r.kind = Found::kFloat;
    } else if (Ok(api.KernelInfoGetAttribute_int64(info_, name, &r.i))) {
      r.kind = Found::kInt;
    } else if (Ok(api.KernelInfoGetAttribute_string(info_, name, nullptr, &size)) || size > 0) {
      r.s.assign(size, '\0');
      if (size > 0) Ort::ThrowOnError(api.KernelInfoGetAttribute_string(info_, name, r.s.data(), &size));
      r.s.resize(size > 0 ? size - 1 : 0);
      r.kind = Found::kString;
    } else if ((size = 0, Ok(api.KernelInfoGetAttributeArray_float(info_, name, nullptr, &size))) && size > 0) {
      r.kind = Found::kFloats;
    } else if ((size = 0, Ok(api.KernelInfoGetAttributeArray_int64(info_, name, nullptr, &size)))) {
      r.ints.resize(size);
      if (size > 0) Ort::ThrowOnError(api.KernelInfoGetAttributeArray_int64(info_, name, r.ints.data(), &size));
      r.kind = Found::kInts;
    }
    return r;
  }

  static const char* KindName(AttrKind k) {
    return k == AttrKind::kFloat ? "float" : k == AttrKind::kInt ? "int" : k == AttrKind::kString ? "string" : "ints";
  }
  static const char* FoundName(Found k) {
    switch (k) {
      case Found::kFloat:
        return "float";
      case Found::kInt:
        return "int";
      case Found::kString:
        return "string";
      case Found::kInts:
        return "ints";
      case Found::kFloats:
        return "floats";
      default:
        return "absent";
    }
  }
  [[noreturn]] void WrongKind(const AttrSpec& spec, Found found) const {
    Fail(Str("attribute '", spec.name, "' must be ", KindName(spec.kind), ", got ", FoundName(found)));
  }

  const OrtKernelInfo* info_;
  const char* op_;
  std::string node_;
};

// The length rule of a per-axis list, for a spatial rank (ops/attributes.ts checkAttributeLengths).
inline void CheckLength(const char* op, const std::string& node, const AttrSpec& spec, const std::optional<std::vector<int64_t>>& v,
                        size_t rank) {
  if (spec.length == Length::kAny || !v) return;
  const size_t want = spec.length == Length::kPerAxis ? rank : 2 * rank;
  if (v->size() == want) return;
  const char* rule = spec.length == Length::kPerAxis ? "one per spatial axis" : "a begin and an end per spatial axis";
  Fail(op, node, Str("attribute ", spec.name, " has ", v->size(), " values; expected ", want, " (", rule, ") for ", rank, " spatial dims"));
}

// A per-axis list with its fill value where it is absent (ops/attributes.ts perAxis).
inline std::vector<int64_t> PerAxis(const AttrSpec& spec, const std::optional<std::vector<int64_t>>& v, size_t rank) {
  if (v) return *v;
  return std::vector<int64_t>(spec.length == Length::kBeginEnd ? 2 * rank : rank, spec.fill);
}

// A numeric twin of a string attribute (ops/attributes.ts twinAttribute): -1 (absent) or the index
// of the string's value among its choices; the kernels read the string, so a twin that disagrees is
// refused (the function body, which reads the twin, would compute something else).
inline void CheckTwin(const AttrReader& r, const AttrSpec& twin, int64_t v, const AttrSpec& of, const std::string& value) {
  if (v == -1) return;
  const char* named = v >= 0 && static_cast<size_t>(v) < of.n_string_choices ? of.string_choices[v] : "?";
  if (value == named) return;
  int64_t want = -1;
  for (size_t k = 0; k < of.n_string_choices; ++k) {
    if (value == of.string_choices[k]) want = static_cast<int64_t>(k);
  }
  r.Fail(Str("attribute ", twin.name, " = ", v, " ('", named, "') contradicts ", of.name, " = '", value, "'; it must be ", want,
             " or absent"));
}

}  // namespace lp
