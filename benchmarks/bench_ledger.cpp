// A sweep ledger's claim at 100, 1 000 and 10 000 planned runs, half of them done, with its index and without
// (every run's folder read at every claim, as the ledger did before the index):
//
//   build/benchmarks/bench_ledger [--dir FOLDER] [--claims K]
//
// FOLDER (default /tmp): where the sweep folders are made; point it at a parallel file system to see what a
// claim costs there. Each claim is followed by what a run's end does (its result written, finish()), so the
// ledger evolves as in a sweep. Prints milliseconds and files read per claim (median and mean over K claims,
// default 20), and the first claim of a job, which builds the index from the folders when it is missing.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/files.h"
#include "sweeps/ledger.h"

namespace {

using acm::sweeps::Ledger;
using acm::sweeps::LedgerOptions;
using acm::sweeps::Pick;
using acm::sweeps::Sweep;
using nlohmann::json;
using clock_type = std::chrono::steady_clock;

Sweep plan_of(std::size_t n) {
  Sweep s;
  s.name = "bench";
  for (std::size_t i = 0; i < n; ++i) {
    char id[17], folder[40];
    std::snprintf(id, sizeof id, "%016zx", 0xb000000 + i);
    std::snprintf(folder, sizeof folder, "model/method-%zu/seed%zu", i / 10, i % 10);
    s.runs.push_back({id, folder, json::object(), json::object(), std::nullopt, false, ""});
  }
  return s;
}

void write_result(const Ledger& ledger, const Sweep& plan, std::size_t run) {
  acm::fs::make_dirs(ledger.run_dir(run));
  std::ofstream(ledger.run_dir(run) + "/result.json")
      << json{{"status", "completed"}, {"sweep", {{"id", plan.runs[run].id}}}}.dump();
}

struct Figures {
  double median_ms = 0, first_ms = 0, files = 0;
};

Figures measure(const std::string& base, std::size_t n, bool index, int claims) {
  char tmpl[4096];
  std::snprintf(tmpl, sizeof tmpl, "%s/acm-bench-ledger-XXXXXX", base.c_str());
  if (!::mkdtemp(tmpl)) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  const std::string dir = tmpl;
  const Sweep plan = plan_of(n);
  LedgerOptions o;
  o.use_index = index;
  Figures f;
  {
    Ledger ledger(dir + "/sweep", plan, o);
    ledger.open();
    for (std::size_t i = 0; i < n / 2; ++i) write_result(ledger, plan, i);
    auto t = clock_type::now();
    Pick p = ledger.claim_next(0);
    f.first_ms = std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
    std::vector<double> ms;
    const std::int64_t ops0 = ledger.file_operations();
    for (int k = 0; k < claims; ++k) {
      write_result(ledger, plan, p.run);  // the claimed run ends
      ledger.finish(p.run, p.token, "done");
      t = clock_type::now();
      p = ledger.claim_next(k % 4);
      ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t).count());
    }
    f.files = static_cast<double>(ledger.file_operations() - ops0) / claims;
    std::sort(ms.begin(), ms.end());
    f.median_ms = ms[ms.size() / 2];
  }
  std::system(("rm -rf '" + dir + "'").c_str());
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  std::string base = "/tmp";
  int claims = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--dir") {
      base = argv[i + 1];
    } else if (a == "--claims") {
      claims = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "unknown option %s; allowed: --dir FOLDER, --claims K\n", argv[i]);
      return 2;
    }
  }
  std::printf("# sweep ledger: a claim with half the planned runs done, %d claims each, folders in %s\n", claims, base.c_str());
  std::printf("| planned runs | without index: ms/claim | files/claim | with index: ms/claim | files/claim | first claim (index built) ms |\n");
  std::printf("| ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (std::size_t n : {100u, 1000u, 10000u}) {
    const Figures old = measure(base, n, false, claims), now = measure(base, n, true, claims);
    std::printf("| %zu | %.2f | %.0f | %.2f | %.1f | %.1f |\n", n, old.median_ms, old.files, now.median_ms, now.files,
                now.first_ms);
    std::fflush(stdout);
  }
  return 0;
}
