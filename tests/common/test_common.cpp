// The common library: the one atomic writer, hashing (stable values; an unreadable file is an error, never the
// empty file's hash), JSON files with the path in every error, and the exit code a failure stands for.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "common/errors.h"
#include "common/files.h"
#include "common/hash.h"
#include "common/json_reader.h"
#include "tests/expect_error.h"
#include "tests/test_util.h"

namespace {

using acm::testing::TempDir;
using acm::testing::expect_error;

TEST(Hash, FileHashIsTheHashOfItsBytesAndAnUnreadableFileIsAnError) {
  TempDir tmp;
  const std::string text = std::string("weights\0and bytes", 17);
  acm::fs::write_file_atomic(tmp.file("w.bin"), text);
  EXPECT_EQ(acm::hash::of_file(tmp.file("w.bin")), acm::hash::of_text(text));
  // The project's FNV-1a starts from 1469598103934665603 (the published basis lacks its last digit here, since
  // the first commit): every run id, config hash and extractor hash ever written uses it, so it must not move.
  EXPECT_EQ(acm::hash::of_text(""), "14650fb0739d0383");
  EXPECT_EQ(acm::hash::of_text("a"), acm::hash::hex16((acm::hash::kFnvOffset ^ 'a') * 1099511628211ull));
  EXPECT_EQ(acm::hash::of_text("a"), "44bd8ad473cd9906");
  EXPECT_NE(acm::hash::of_file(tmp.file("w.bin")), acm::hash::of_text(""));
  expect_error<std::runtime_error>([&] { acm::hash::of_file(tmp.file("missing.bin")); },
                                   {tmp.file("missing.bin"), "cannot open"});
  expect_error<std::runtime_error>([&] { acm::hash::of_file(tmp.path()); }, {tmp.path()});  // a folder
  EXPECT_EQ(acm::hash::short_text("a"), "44bd8ad4");
}

TEST(Hash, JsonHashIgnoresKeyOrderAndSeesEveryValue) {
  const nlohmann::json a = nlohmann::json::parse(R"({"lr": 0.1, "model": "resnet18"})");
  const nlohmann::json b = nlohmann::json::parse(R"({"model": "resnet18", "lr": 0.1})");
  const nlohmann::json c = nlohmann::json::parse(R"({"model": "resnet18", "lr": 0.2})");
  EXPECT_EQ(acm::hash::of_json(a), acm::hash::of_json(b));
  EXPECT_NE(acm::hash::of_json(a), acm::hash::of_json(c));
  EXPECT_EQ(acm::hash::of_json(a).size(), 16u);
}

TEST(Files, AtomicWriteReplacesWholeAndAFenceThatSaysNoLeavesNothing) {
  TempDir tmp;
  const std::string path = tmp.file("result.json");
  EXPECT_TRUE(acm::fs::write_file_atomic(path, "old\n"));
  EXPECT_TRUE(acm::fs::write_file_atomic(path, "new\n", [] { return true; }));
  EXPECT_EQ(acm::fs::read_text(path), "new\n");
  EXPECT_FALSE(acm::fs::write_file_atomic(path, "lost\n", [] { return false; }));
  EXPECT_EQ(acm::fs::read_text(path), "new\n");
  EXPECT_EQ(acm::fs::list_dir(tmp.path()), std::vector<std::string>{"result.json"});  // no temporary left
  expect_error<std::runtime_error>([&] { acm::fs::write_file_atomic(tmp.file("no/such/folder/x"), "x"); },
                                   {tmp.file("no/such/folder/x")});
}

TEST(Files, MakeDirsWalkAndJoin) {
  TempDir tmp;
  acm::fs::make_dirs(tmp.file("a/b/c"));
  acm::fs::make_dirs(tmp.file("a/b/c"));  // again: no error
  acm::fs::make_dirs(tmp.file("a/.hidden"));
  std::vector<std::string> seen;
  acm::fs::walk_dirs(tmp.file("a"), [&](const std::string& d) { seen.push_back(d); });
  EXPECT_EQ(seen, (std::vector<std::string>{tmp.file("a"), tmp.file("a/b"), tmp.file("a/b/c")}));
  EXPECT_EQ(acm::fs::join_path("x/", "y"), "x/y");
  EXPECT_EQ(acm::fs::join_path(".", "y"), "y");
  EXPECT_EQ(acm::fs::folder_of("/r/x.json"), "/r");
  EXPECT_EQ(acm::fs::folder_of("x.json"), ".");
}

TEST(JsonFiles, ErrorsNameTheFileAndConfigsAreConfigErrors) {
  TempDir tmp;
  acm::fs::write_file_atomic(tmp.file("bad.json"), "{\"a\": 1,");
  acm::fs::write_file_atomic(tmp.file("good.json"), "{\"a\": 1}");
  EXPECT_EQ(acm::config::read_json_file(tmp.file("good.json"))["a"], 1);
  expect_error<std::runtime_error>([&] { acm::config::read_json_file(tmp.file("bad.json")); },
                                   {tmp.file("bad.json"), "not valid JSON", "line 1, column 9"});
  expect_error<std::runtime_error>([&] { acm::config::read_json_file(tmp.file("none.json")); },
                                   {tmp.file("none.json"), "cannot read"});
  expect_error<acm::config::ConfigError>([&] { acm::config::read_config_file(tmp.file("bad.json")); },
                                         {tmp.file("bad.json"), "not valid JSON"});
  expect_error<acm::config::ConfigError>([&] { acm::config::read_config_file(tmp.file("none.json")); },
                                         {tmp.file("none.json"), "cannot read config file"});
}

TEST(ExitCodes, ConfigErrorsAreTwoEverythingElseOne) {
  auto code = [](auto thrower) {
    try {
      thrower();
    } catch (...) {
      return acm::config::exit_code_of(std::current_exception());
    }
    return -1;
  };
  EXPECT_EQ(code([] { throw acm::config::ConfigError("bad flag"); }), 2);
  EXPECT_EQ(code([] { throw std::runtime_error("bad data"); }), 1);
  EXPECT_EQ(code([] { throw 42; }), 1);
}

}  // namespace
