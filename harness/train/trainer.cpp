#include "harness/train/trainer.h"

#include "common/json_reader.h"
#include "harness/dist/agree.h"
#include "harness/train/run.h"
#include "harness/train/signals.h"

namespace acm::train {

data::TransformSpec train_transform(const RunConfig& c, const data::Dataset& train) {
  data::TransformSpec t;
  t.crop_padding = c.augment.crop_padding;
  t.horizontal_flip = c.augment.horizontal_flip;
  if (c.augment.normalize == "dataset") {
    const data::ChannelStats st = data::channel_stats(train);
    t.mean = st.mean;
    t.std = st.std;
  } else if (c.augment.normalize == "given") {
    t.mean = c.augment.mean;
    t.std = c.augment.std;
  }
  data::validate_transform(t, train.channels, train.height, train.width);
  return t;
}

nlohmann::json read_saved_config(const std::string& out_dir) { return config::read_json_file(out_dir + "/config.json"); }

Outcome run_training(const RunConfig& config, const TrainOptions& options) {
  install_stop_handlers();  // first: a SIGTERM while data loads must not kill the process
  Run run(config, options);
  run.setup();
  // Errors from here on are not agreed on: a failing rank ends the whole job (the others may be waiting in a
  // collective). One process rethrows.
  try {
    while (!run.stopped() && !run.finished()) {
      run.start_epoch();
      while (run.step()) {
      }
      if (!run.stopped()) run.end_epoch();
    }
    return run.stopped() ? *run.stopped() : run.write_result(Outcome::kCompleted);
  } catch (const std::exception& e) {
    if (run.ranks() > 1) dist::abort_job(e.what(), config::exit_code_of(std::current_exception()));
    throw;
  }
}

}  // namespace acm::train
