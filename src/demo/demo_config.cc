// The demo configuration, embedded so `tether demo init` works from any folder. It must stay
// byte-for-byte equal to the repository's demo/tether.yaml (a test compares them).
#include "demo/demo.h"

namespace tether {

// clang-format off
std::string_view DemoConfigYaml() {
  return R"yaml(# tether demo: keep a staging shop in step with the live shop.
#
#   tether demo init                                   # writes demo/live.db and demo/staging.db
#   tether sync live-to-staging -c demo/tether.yaml
#
# Both databases share one schema, but number their rows independently: staging holds about a
# third of live's records under other ids (staging customer 1 is not live customer 1), some of
# them out of date (prices, names, stock, order status), plus test records of its own. Rows are
# paired by their natural keys (`match`) and every reference is remapped to staging's ids.
# Live also holds a few invalid records (a sku with spaces, a negative price, malformed emails);
# `on_invalid: skip` reports them and carries on.

connections:
  live: { url: "sqlite:live.db" }        # relative to this file's folder
  staging: { url: "sqlite:staging.db" }

entities:
  store:
    table: store
    key: id
    keys: mapped
    match: [code]

  customer:
    table: customer
    key: id
    keys: mapped
    match: [email]
    references: { store_id: store }
    cursor: updated_at
    delete: ignore                       # staging's own test customers stay
    validate:
      email: { required: true, type: email }
      firstname: { required: true }

  customer_address:
    table: customer_address
    key: id
    keys: mapped
    match: [customer_id, type]           # one billing and one shipping address per customer
    references: { customer_id: customer }

  category:
    table: category
    key: id
    keys: mapped
    match: [slug]
    references: { parent_id: category }  # a tree, three levels deep

  product:
    table: product
    key: id
    keys: mapped
    match: [sku]
    references: { category_id: category }
    cursor: updated_at
    columns: { exclude: [internal_note] }  # staging keeps its own notes
    validate:
      sku: { required: true, pattern: "^[A-Z0-9-]+$" }
      name: { required: true }
      price: { required: true, min: 0 }

  product_category:                      # a join table: its key is two references,
    table: product_category              # remapped first, then used as the key
    key: [product_id, category_id]
    keys: identity
    references: { product_id: product, category_id: category }

  stock:
    table: stock
    key: id
    keys: mapped
    match: [product_id]                  # one stock row per product
    references: { product_id: product }
    validate:
      qty: { min: 0 }

  order:
    table: sales_order
    key: id
    keys: mapped
    match: [increment_id]
    references: { customer_id: customer, store_id: store }  # customer_id is NULL for guests
    filter: { date_column: created_at }  # --from-date / --to-date

  order_item:
    table: sales_order_item
    key: id
    keys: mapped
    match: [order_id, sku]               # composite, through a remapped reference
    references: { order_id: order, product_id: product }

  order_address:
    table: sales_order_address
    key: id
    keys: mapped
    match: [order_id, type]
    references: { order_id: order }

  order_payment:
    table: sales_order_payment
    key: id
    keys: mapped
    match: [order_id]
    references: { order_id: order }

  invoice:
    table: invoice
    key: id
    keys: mapped
    match: [increment_id]
    references: { order_id: order }

  shipment:
    table: shipment
    key: id
    keys: mapped
    match: [increment_id]
    references: { order_id: order }

  creditmemo:
    table: creditmemo
    key: id
    keys: mapped
    match: [increment_id]
    references: { order_id: order }

  newsletter_subscriber:
    table: newsletter_subscriber
    key: id
    keys: mapped
    match: [email]
    references: { customer_id: customer }  # NULL for guests
    validate:
      email: { required: true, type: email }

  cms_page:
    table: cms_page
    key: id
    keys: mapped
    match: [slug]
    filter: { where: "is_active = 1" }   # drafts stay on live

  coupon:
    table: coupon
    key: id
    keys: mapped
    match: [code]
    validate:
      discount: { min: 0 }

pipelines:
  live-to-staging:
    source: live
    target: staging
    entities: [store, customer, customer_address, category, product, product_category, stock,
               order, order_item, order_address, order_payment, invoice, shipment, creditmemo,
               newsletter_subscriber, cms_page, coupon]
    on_duplicate: merge                  # a field left empty on live keeps staging's value
    on_invalid: skip
    batch_size: 500
)yaml";
}
// clang-format on

}  // namespace tether
