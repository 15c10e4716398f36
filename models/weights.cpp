#include "models/weights.h"

#include "common/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <torch/torch.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

namespace acm::models {

namespace {

struct DtypeInfo {
  const char* name;
  torch::Dtype dtype;
};
constexpr DtypeInfo kDtypes[] = {
    {"F64", torch::kFloat64}, {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16},
    {"I64", torch::kInt64},   {"I32", torch::kInt32},   {"I16", torch::kInt16},   {"I8", torch::kInt8},
    {"U8", torch::kUInt8},    {"BOOL", torch::kBool}};

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw WeightsError(path + ": " + what);
}

std::string shape_str(at::IntArrayRef s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

TensorFile read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(path, "cannot open weights file (missing or unreadable)");
  const auto size = static_cast<std::int64_t>(in.tellg());
  in.seekg(0);
  std::vector<char> bytes(static_cast<std::size_t>(size));
  if (size > 0 && !in.read(bytes.data(), size)) fail(path, "read error");
  if (size < 8)
    fail(path, "offset 0: file is " + std::to_string(size) +
                   " bytes, shorter than the 8-byte safetensors header length");
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(bytes[i]);
  if (header_len > static_cast<std::uint64_t>(size - 8)) {
    fail(path, "offset 0: header length " + std::to_string(header_len) + " exceeds the file (" +
                   std::to_string(size) + " bytes) — not a safetensors file, or truncated");
  }
  nlohmann::json header;
  try {
    header =
        nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header_len));
  } catch (const nlohmann::json::exception& e) {
    fail(path, std::string("offset 8: header is not valid JSON (") + e.what() + ")");
  }
  if (!header.is_object()) fail(path, "offset 8: header is not a JSON object");
  const std::int64_t data_begin = 8 + static_cast<std::int64_t>(header_len);
  const std::int64_t data_size = size - data_begin;

  TensorFile file;
  std::vector<std::tuple<std::int64_t, std::string, torch::Tensor>> ordered;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    if (name == "__metadata__") {
      for (auto m = it->begin(); m != it->end(); ++m) {
        file.metadata[m.key()] = m->is_string() ? m->get<std::string>() : m->dump();
      }
      continue;
    }
    const auto& e = it.value();
    const std::string where = "header entry '" + name + "'";
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets")) {
      fail(path, where + ": expected {dtype, shape, data_offsets}");
    }
    const DtypeInfo* dt = nullptr;
    for (const auto& d : kDtypes) {
      if (e["dtype"] == d.name) dt = &d;
    }
    if (!dt) fail(path, where + ": unsupported dtype " + e["dtype"].dump());
    std::vector<std::int64_t> shape;
    for (const auto& v : e["shape"]) {
      if (!v.is_number_unsigned()) fail(path, where + ": shape must hold non-negative integers");
      shape.push_back(v.get<std::int64_t>());
    }
    const auto& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
      fail(path, where + ": data_offsets must be [begin, end]");
    }
    const auto b = off[0].get<std::int64_t>(), en = off[1].get<std::int64_t>();
    auto t = torch::empty(shape, torch::TensorOptions().dtype(dt->dtype));
    const std::int64_t want = t.numel() * static_cast<std::int64_t>(t.element_size());
    if (b > en || en > data_size) {
      fail(path, where + ": data_offsets [" + std::to_string(b) + ", " + std::to_string(en) +
                     "] lie outside the data section (" + std::to_string(data_size) + " bytes from offset " +
                     std::to_string(data_begin) + ") — truncated file?");
    }
    if (en - b != want) {
      fail(path, where + ": " + std::to_string(en - b) + " data bytes for shape " + shape_str(t.sizes()) +
                     " of " + dt->name + ", expected " + std::to_string(want));
    }
    if (want > 0) std::memcpy(t.data_ptr(), bytes.data() + data_begin + b, static_cast<std::size_t>(want));
    ordered.emplace_back(b, name, t);
  }
  std::sort(ordered.begin(), ordered.end(),
            [](const auto& x, const auto& y) { return std::get<0>(x) < std::get<0>(y); });
  for (auto& [b, name, t] : ordered) file.tensors.emplace_back(name, t);
  return file;
}

bool write_safetensors(const std::string& path, const TensorFile& file, const std::function<bool()>& commit) {
  nlohmann::json header = nlohmann::json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  std::int64_t offset = 0;
  std::vector<torch::Tensor> data;
  for (const auto& [name, tensor] : file.tensors) {
    auto t = tensor.detach().to(torch::kCPU).contiguous();
    const char* dtype = nullptr;
    for (const auto& d : kDtypes) {
      if (d.dtype == t.scalar_type()) dtype = d.name;
    }
    if (!dtype) fail(path, "tensor '" + name + "' has a dtype safetensors cannot hold");
    const std::int64_t n = t.numel() * static_cast<std::int64_t>(t.element_size());
    header[name] = {{"dtype", dtype}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + n}}};
    offset += n;
    data.push_back(t);
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // align the data section to 8 bytes, as the reference writer does
  std::string bytes;
  bytes.reserve(8 + h.size() + static_cast<std::size_t>(offset));
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((h.size() >> (8 * i)) & 0xff));
  bytes += h;
  for (const auto& t : data) {
    bytes.append(static_cast<const char*>(t.data_ptr()),
                 static_cast<std::size_t>(t.numel()) * t.element_size());
  }
  return fs::write_file_atomic(path, bytes, commit);
}

TensorFile module_state(const torch::nn::Module& m) {
  TensorFile file;
  for (const auto& p : m.named_parameters(/*recurse=*/true)) file.tensors.emplace_back(p.key(), p.value());
  for (const auto& b : m.named_buffers(/*recurse=*/true)) file.tensors.emplace_back(b.key(), b.value());
  return file;
}

void load_module_state(torch::nn::Module& m, const TensorFile& file, const std::string& source) {
  std::map<std::string, torch::Tensor> targets;
  for (const auto& p : m.named_parameters(true)) targets[p.key()] = p.value();
  for (const auto& b : m.named_buffers(true)) targets[b.key()] = b.value();
  std::set<std::string> seen;
  std::vector<std::string> unexpected, mismatched, missing;
  for (const auto& [name, t] : file.tensors) {
    auto it = targets.find(name);
    if (it == targets.end()) {
      unexpected.push_back(name);
    } else if (it->second.sizes() != t.sizes()) {
      mismatched.push_back(name + " (file " + shape_str(t.sizes()) + ", model " +
                           shape_str(it->second.sizes()) + ")");
    }
    seen.insert(name);
  }
  for (const auto& [name, t] : targets) {
    if (!seen.count(name)) missing.push_back(name);
  }
  if (!unexpected.empty() || !mismatched.empty() || !missing.empty()) {
    auto list = [](const std::vector<std::string>& v) {
      std::string s;
      for (std::size_t i = 0; i < v.size() && i < 8; ++i) s += (i ? ", " : "") + v[i];
      if (v.size() > 8) s += ", ... (" + std::to_string(v.size()) + " in all)";
      return s;
    };
    std::string msg = source + ": weights do not fit the model";
    if (!mismatched.empty()) msg += "; shape mismatch: " + list(mismatched);
    if (!missing.empty()) msg += "; missing from the file: " + list(missing);
    if (!unexpected.empty()) msg += "; not in the model: " + list(unexpected);
    throw WeightsError(msg);
  }
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : file.tensors) targets[name].copy_(t);
}

std::map<std::string, std::string> model_metadata(const std::string& arch, const ModelSpec& spec) {
  std::map<std::string, std::string> m = {{"arch", arch},
                                         {"num_classes", std::to_string(spec.num_classes)},
                                         {"in_channels", std::to_string(spec.in_channels)},
                                         {"stem", to_string(spec.stem)},
                                         {"width", std::to_string(spec.width)},
                                         {"init", to_string(spec.init)},
                                         {"norm", to_string(spec.norm)}};
  if (spec.last_stride != 2) m["last_stride"] = std::to_string(spec.last_stride);  // absent: 2
  return m;
}

std::pair<std::string, ModelSpec> model_from_metadata(const std::map<std::string, std::string>& metadata,
                                                      const std::string& source) {
  auto get = [&](const char* key) -> const std::string& {
    auto it = metadata.find(key);
    if (it == metadata.end()) {
      fail(source, std::string("no '") + key +
                       "' in the metadata: the file does not say which network it holds (checkpoints from "
                       "before the model record do not; torchvision weights go through "
                       "scripts/convert_torchvision.py)");
    }
    return it->second;
  };
  auto number = [&](const char* key) {
    const std::string& v = get(key);
    char* end = nullptr;
    const long long n = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n < 1)
      fail(source, std::string("metadata '") + key + "' is not a positive integer: " + v);
    return static_cast<std::int64_t>(n);
  };
  const std::string arch = get("arch");
  ModelSpec spec;
  spec.num_classes = number("num_classes");
  spec.in_channels = number("in_channels");
  spec.width = number("width");
  if (metadata.count("last_stride")) spec.last_stride = number("last_stride");
  try {
    spec.stem = stem_from_string(get("stem"));
    if (metadata.count("init")) spec.init = init_from_string(get("init"));
    if (metadata.count("norm")) spec.norm = norm_from_string(get("norm"));
  } catch (const std::invalid_argument& e) {
    fail(source, std::string("metadata: ") + e.what());
  }
  return {arch, spec};
}

}  // namespace acm::models
