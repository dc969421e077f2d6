// End-to-end check of the evaluator on RecBole's exact ml-100k split, against a number
// RecBole itself reports on it (../shared/datasets/README.md): ItemKNN NDCG@10 = 0.2834,
// full ranking, training and validation items excluded.
#include <gtest/gtest.h>

#include "datasets/load.h"
#include "eval/evaluator.h"
#include "framework/config.h"
#include "models/recommender.h"
#include "tests/test_util.h"

namespace recfuse::eval {
namespace {

TEST(EvaluateRealData, ItemKnnMatchesRecBoleOnItsSplit) {
  const std::string path = recfuse::testing::SharedData("ml-100k-recbole-split");
  if (path.empty()) GTEST_SKIP() << "shared ml-100k-recbole-split absent";
  const datasets::Dataset data = datasets::LoadDataset(path);
  std::vector<int64_t> train_rows, valid_rows, test_rows;
  ASSERT_EQ(data.fixed_split.size(), data.interactions.size());
  for (size_t r = 0; r < data.fixed_split.size(); ++r)
    (data.fixed_split[r] == 0   ? train_rows
     : data.fixed_split[r] == 1 ? valid_rows
                                : test_rows)
        .push_back(static_cast<int64_t>(r));
  const models::TrainData train = models::MakeTrainData(data, train_rows, valid_rows);
  auto model = models::CreateModel("itemknn", framework::Config());  // RecBole's k=100, shrink=0
  models::FitContext ctx;
  ctx.threads = 2;
  model->Fit(train, ctx);

  EvalTarget target{&data, &train.matrix, test_rows, valid_rows};
  EvalOptions opt;
  opt.ks = {10};
  opt.threads = 2;
  const EvalResult r = Evaluate(*model, target, opt);
  EXPECT_EQ(r.users.size(), 943u);
  EXPECT_EQ(r.users_without_test, 0);
  double ndcg = -1;
  for (const auto& m : r.metrics)
    if (m.metric == "ndcg" && m.k == 10) ndcg = m.value;
  // recfuse gives 0.283533; RecBole prints 4 decimals.
  EXPECT_NEAR(ndcg, 0.2834, 6e-4);
}

}  // namespace
}  // namespace recfuse::eval
