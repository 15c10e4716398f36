// The learning-rate schedules against PyTorch's schedulers, step for step (label anchor).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <map>
#include <sstream>

#include "acm/config.h"
#include "common/hash.h"
#include "common/json_reader.h"
#include "harness/train/config.h"
#include "harness/train/metrics.h"
#include "harness/train/optimizer.h"
#include "harness/train/schedule.h"
#include "tests/expect_error.h"
#include "tests/test_util.h"

namespace acm::train {
namespace {

using config::ConfigError;
using nlohmann::json;

// The schedules against PyTorch's own schedulers, run by the venv's Python.
TEST(Schedule, EqualsPyTorchSchedulersStepForStep) {
  const char* script = R"PY(
import torch
p = [torch.nn.Parameter(torch.zeros(1))]
def run(make, n, mom=False):
    opt = torch.optim.SGD(p, lr=0.1, momentum=0.9)
    s = make(opt); out = []
    for _ in range(n):
        g = opt.param_groups[0]; out.append((g["lr"], g["momentum"])); opt.step(); s.step()
    return out
L = torch.optim.lr_scheduler
for lr, m in run(lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=50), 50): print("onecycle", repr(lr), repr(m))
for lr, m in run(lambda o: L.CosineAnnealingLR(o, T_max=50, eta_min=0.001), 50): print("cosine", repr(lr), repr(m))
for lr, m in run(lambda o: L.MultiStepLR(o, milestones=[20, 35], gamma=0.1), 50): print("step", repr(lr), repr(m))
)PY";
  acm::testing::TempDir dir;
  std::ofstream(dir.file("s.py")) << script;
  std::string out;
  ASSERT_EQ(acm::testing::run_command(std::string("'") + ACM_PYTHON + "' " + dir.file("s.py"), &out), 0)
      << out;
  OptimizerConfig o;  // lr 0.1, momentum 0.9
  ScheduleConfig onecycle;
  ScheduleConfig cosine;
  cosine.name = "cosine";
  cosine.min_lr = 0.001;
  ScheduleConfig step;
  step.name = "step";
  step.milestones = {2.0, 3.5};  // epochs of 10 steps: steps 20 and 35
  const Schedule s1(onecycle, o, 10, 5), s2(cosine, o, 10, 5), s3(step, o, 10, 5);
  std::istringstream in(out);
  std::string name;
  double lr, mom;
  int rows = 0;
  std::map<std::string, int> k;
  while (in >> name >> lr >> mom) {
    const Schedule& s = name == "onecycle" ? s1 : name == "cosine" ? s2 : s3;
    const ScheduleValue v = s.at(k[name]);
    EXPECT_NEAR(v.lr, lr, 1e-12) << name << " step " << k[name];
    EXPECT_NEAR(v.momentum, mom, 1e-12) << name << " step " << k[name];
    ++k[name];
    ++rows;
  }
  EXPECT_EQ(rows, 150);
}

}  // namespace
}  // namespace acm::train
