// Tests for EntityOrder: parents first, stable among equals, self-references allowed,
// other cycles named.
#include <gtest/gtest.h>

#include "config/config.h"
#include "util/test_util.h"

namespace tether {
namespace {

using Names = std::vector<std::string>;

class EntityOrderTest : public ::testing::Test {
 protected:
  void Entity(const std::string& name,
              std::vector<std::pair<std::string, std::string>> references = {}) {
    EntityConfig e;
    e.name = name;
    e.source_table = e.target_table = name;
    e.key = {"id"};
    e.references = std::move(references);
    config_.entities.push_back(std::move(e));
  }
  PipelineConfig Pipeline(Names entities) {
    PipelineConfig p;
    p.name = "p";
    p.source = "a";
    p.target = "b";
    p.entities = std::move(entities);
    p.location = {"tether.yaml", 12, 3};
    return p;
  }

  Config config_;
};

TEST_F(EntityOrderTest, DesignExample) {
  Entity("customer");
  Entity("category", {{"parent_id", "category"}});
  Entity("product", {{"category_id", "category"}});
  Entity("order", {{"customer_id", "customer"}});
  Entity("order_item", {{"order_id", "order"}});
  Entity("product_category", {{"product_id", "product"}, {"category_id", "category"}});

  auto r = EntityOrder(config_, Pipeline({"customer", "category", "product", "product_category",
                                          "order", "order_item"}));
  ASSERT_OK(r);
  EXPECT_EQ(*r,
            (Names{"customer", "category", "product", "product_category", "order", "order_item"}));

  // Listed children first: parents move ahead, the rest keeps the list order.
  r = EntityOrder(config_, Pipeline({"order_item", "product_category", "order", "product",
                                     "customer", "category"}));
  ASSERT_OK(r);
  EXPECT_EQ(*r,
            (Names{"customer", "order", "order_item", "category", "product", "product_category"}));
}

TEST_F(EntityOrderTest, StableAmongIndependentEntities) {
  Entity("a");
  Entity("b");
  Entity("c");
  auto r = EntityOrder(config_, Pipeline({"c", "a", "b"}));
  ASSERT_OK(r);
  EXPECT_EQ(*r, (Names{"c", "a", "b"}));
}

TEST_F(EntityOrderTest, ReferencesOutsideThePipelineAreIgnored) {
  Entity("parent");
  Entity("child", {{"parent_id", "parent"}});
  auto r = EntityOrder(config_, Pipeline({"child"}));
  ASSERT_OK(r);
  EXPECT_EQ(*r, Names{"child"});
}

TEST_F(EntityOrderTest, SelfReferenceIsAllowed) {
  Entity("category", {{"parent_id", "category"}});
  Entity("page", {{"parent_id", "page"}, {"category_id", "category"}});
  auto r = EntityOrder(config_, Pipeline({"page", "category"}));
  ASSERT_OK(r);
  EXPECT_EQ(*r, (Names{"category", "page"}));
}

TEST_F(EntityOrderTest, TwoEntityCycle) {
  Entity("product", {{"category_id", "category"}});
  Entity("category", {{"featured_id", "product"}});
  auto r = EntityOrder(config_, Pipeline({"product", "category"}));
  ASSERT_CODE(r, StatusCode::kConfig);
  EXPECT_EQ(r.status().message().rfind("tether.yaml:12:3: ", 0), 0u) << r.status().message();
  EXPECT_NE(r.status().message().find("product -> category -> product"), std::string::npos)
      << r.status().message();
}

TEST_F(EntityOrderTest, ThreeEntityCycleBehindAnIndependentOne) {
  Entity("free");
  Entity("a", {{"b_id", "b"}});
  Entity("b", {{"c_id", "c"}});
  Entity("c", {{"a_id", "a"}, {"free_id", "free"}});
  Entity("tail", {{"a_id", "a"}});
  auto r = EntityOrder(config_, Pipeline({"free", "tail", "c", "b", "a"}));
  ASSERT_CODE(r, StatusCode::kConfig);
  EXPECT_EQ(r.status().message().rfind("tether.yaml:12:3: ", 0), 0u) << r.status().message();
  EXPECT_NE(r.status().message().find("c -> a -> b -> c"), std::string::npos)
      << r.status().message();
}

TEST_F(EntityOrderTest, UnknownEntity) {
  Entity("a");
  ASSERT_CODE(EntityOrder(config_, Pipeline({"a", "ghost"})), StatusCode::kConfig);
}

}  // namespace
}  // namespace tether
