#include "models/weights.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "models/registry.h"
#include "tests/expect_error.h"
#include "tests/test_util.h"

namespace acm::models {
namespace {

using acm::testing::TempDir;

ModelSpec small() {
  ModelSpec s;
  s.num_classes = 3;
  s.width = 4;
  s.stem = Stem::kCifar;
  return s;
}

TEST(Weights, RoundTripRestoresOutputsExactly) {
  TempDir dir;
  torch::manual_seed(1);
  Classifier a = create("resnet18", small());
  {  // make running statistics non-trivial
    torch::NoGradGuard g;
    a->train();
    a->forward(torch::randn({4, 3, 16, 16}));
  }
  TensorFile f = module_state(*a);
  f.metadata["arch"] = "resnet18";
  write_safetensors(dir.file("w.safetensors"), f);
  const TensorFile back = read_safetensors(dir.file("w.safetensors"));
  EXPECT_EQ(back.metadata.at("arch"), "resnet18");
  ASSERT_EQ(back.tensors.size(), f.tensors.size());
  torch::manual_seed(2);
  Classifier b = create("resnet18", small());
  load_module_state(*b, back, dir.file("w.safetensors"));
  a->eval();
  b->eval();
  torch::NoGradGuard g;
  auto x = torch::randn({2, 3, 16, 16});
  EXPECT_TRUE(torch::equal(a->forward(x), b->forward(x)));
}

// The model record a checkpoint carries rebuilds the network it holds, last_stride included (an extractor is
// built from it): absent means 2, as in every file from before the option.
TEST(Weights, ModelRecordKeepsTheLastStride) {
  ModelSpec spec = small();
  EXPECT_EQ(model_metadata("resnet18", spec).count("last_stride"), 0u);
  EXPECT_EQ(model_from_metadata(model_metadata("resnet18", spec), "f").second.last_stride, 2);
  spec.last_stride = 1;
  const auto m = model_metadata("resnet18", spec);
  EXPECT_EQ(m.at("last_stride"), "1");
  EXPECT_EQ(model_from_metadata(m, "f").second.last_stride, 1);
}

TEST(Weights, AllDtypesRoundTrip) {
  TempDir dir;
  TensorFile f;
  f.tensors = {{"f64", torch::randn({2, 3}, torch::kFloat64)},
               {"bf16", torch::randn({5}).to(torch::kBFloat16)},
               {"i64", torch::arange(6, torch::kInt64).reshape({3, 2})},
               {"u8", torch::arange(4, torch::kUInt8)},
               {"scalar", torch::tensor(3.5f)},
               {"empty", torch::empty({0, 4})}};
  write_safetensors(dir.file("t.safetensors"), f);
  const TensorFile back = read_safetensors(dir.file("t.safetensors"));
  ASSERT_EQ(back.tensors.size(), f.tensors.size());
  for (std::size_t i = 0; i < f.tensors.size(); ++i) {
    EXPECT_EQ(back.tensors[i].first, f.tensors[i].first);
    EXPECT_TRUE(torch::equal(back.tensors[i].second, f.tensors[i].second)) << f.tensors[i].first;
  }
}

std::vector<char> slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void spit(const std::string& p, const std::vector<char>& b) {
  std::ofstream(p, std::ios::binary).write(b.data(), static_cast<std::streamsize>(b.size()));
}

TEST(Weights, BadFilesNameFileAndPlace) {
  TempDir dir;
  TensorFile f;
  f.tensors = {{"w", torch::ones({4, 4})}};
  write_safetensors(dir.file("ok"), f);
  const auto bytes = slurp(dir.file("ok"));

  acm::testing::expect_error<WeightsError>([&] { read_safetensors(dir.file("missing")); },
                                           {dir.file("missing"), "cannot open"});
  spit(dir.file("tiny"), {1, 2, 3});
  acm::testing::expect_error<WeightsError>([&] { read_safetensors(dir.file("tiny")); },
                                           {dir.file("tiny"), "offset 0", "shorter than the 8-byte"});
  std::vector<char> huge = bytes;
  huge[5] = 1;
  spit(dir.file("huge"), huge);
  acm::testing::expect_error<WeightsError>([&] { read_safetensors(dir.file("huge")); },
                                           {"offset 0", "header length", "exceeds the file"});
  std::vector<char> cut(bytes.begin(), bytes.end() - 8);
  spit(dir.file("cut"), cut);
  acm::testing::expect_error<WeightsError>([&] { read_safetensors(dir.file("cut")); },
                                           {dir.file("cut"), "'w'", "outside the data section", "truncated"});
  std::vector<char> garbled = bytes;
  garbled[8] = 'x';
  spit(dir.file("garbled"), garbled);
  acm::testing::expect_error<WeightsError>([&] { read_safetensors(dir.file("garbled")); },
                                           {"offset 8", "not valid JSON"});
}

TEST(Weights, MismatchedModelIsExplained) {
  TempDir dir;
  write_safetensors(dir.file("r18"), module_state(*create("resnet18", small())));
  ModelSpec other = small();
  other.num_classes = 4;
  Classifier m = create("resnet18", other);
  acm::testing::expect_error<WeightsError>(
      [&] { load_module_state(*m, read_safetensors(dir.file("r18")), dir.file("r18")); },
      {dir.file("r18"), "shape mismatch", "fc.weight (file [3, 32], model [4, 32])",
       "fc.bias (file [3], model [4])"});
  Classifier r34 = create("resnet34", small());
  acm::testing::expect_error<WeightsError>(
      [&] { load_module_state(*r34, read_safetensors(dir.file("r18")), "r18 file"); },
      {"r18 file", "missing from the file", "layer1.2.bn1.weight", "in all)"});
}

}  // namespace
}  // namespace acm::models
