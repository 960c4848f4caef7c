// The demo shop's schema, shared by live.db and staging.db. Ids are INTEGER PRIMARY KEY so each
// database numbers its own rows; natural keys carry UNIQUE indexes; every reference is a
// FOREIGN KEY so a dangling one is refused. No CHECK on price: live holds an invalid product on
// purpose, for validation to catch.
#include "demo/demo.h"

namespace tether {

std::string_view DemoSchemaSql() {
  return R"sql(
CREATE TABLE store (
  id INTEGER PRIMARY KEY,
  code TEXT NOT NULL,
  name TEXT NOT NULL,
  is_active BOOLEAN NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX store_code_uq ON store (code);

CREATE TABLE customer (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL,
  firstname TEXT NOT NULL,
  lastname TEXT NOT NULL,
  store_id INTEGER NOT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL,
  FOREIGN KEY (store_id) REFERENCES store (id)
);
CREATE UNIQUE INDEX customer_email_uq ON customer (email);
CREATE INDEX customer_store_idx ON customer (store_id);
CREATE INDEX customer_updated_idx ON customer (updated_at, id);

CREATE TABLE customer_address (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('billing', 'shipping')),
  street TEXT NOT NULL,
  city TEXT NOT NULL,
  postcode TEXT NOT NULL,
  country TEXT NOT NULL,
  FOREIGN KEY (customer_id) REFERENCES customer (id)
);
CREATE UNIQUE INDEX customer_address_type_uq ON customer_address (customer_id, type);

CREATE TABLE category (
  id INTEGER PRIMARY KEY,
  parent_id INTEGER,
  slug TEXT NOT NULL,
  name TEXT NOT NULL,
  position INTEGER NOT NULL DEFAULT 0,
  FOREIGN KEY (parent_id) REFERENCES category (id)
);
CREATE UNIQUE INDEX category_slug_uq ON category (slug);
CREATE INDEX category_parent_idx ON category (parent_id);

CREATE TABLE product (
  id INTEGER PRIMARY KEY,
  sku TEXT NOT NULL,
  name TEXT NOT NULL,
  price DECIMAL(12,2) NOT NULL,
  category_id INTEGER,
  status TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
  description TEXT,
  internal_note TEXT,
  updated_at DATETIME NOT NULL,
  FOREIGN KEY (category_id) REFERENCES category (id)
);
CREATE UNIQUE INDEX product_sku_uq ON product (sku);
CREATE INDEX product_category_idx ON product (category_id);
CREATE INDEX product_updated_idx ON product (updated_at, id);

CREATE TABLE product_category (
  product_id INTEGER NOT NULL,
  category_id INTEGER NOT NULL,
  position INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (product_id, category_id),
  FOREIGN KEY (product_id) REFERENCES product (id),
  FOREIGN KEY (category_id) REFERENCES category (id)
);
CREATE INDEX product_category_category_idx ON product_category (category_id);

CREATE TABLE stock (
  id INTEGER PRIMARY KEY,
  product_id INTEGER NOT NULL,
  qty INTEGER NOT NULL,
  in_stock BOOLEAN NOT NULL,
  FOREIGN KEY (product_id) REFERENCES product (id)
);
CREATE UNIQUE INDEX stock_product_uq ON stock (product_id);

CREATE TABLE sales_order (
  id INTEGER PRIMARY KEY,
  increment_id TEXT NOT NULL,
  customer_id INTEGER,
  customer_email TEXT NOT NULL,
  store_id INTEGER NOT NULL,
  status TEXT NOT NULL,
  grand_total DECIMAL(12,2) NOT NULL,
  created_at DATETIME NOT NULL,
  FOREIGN KEY (customer_id) REFERENCES customer (id),
  FOREIGN KEY (store_id) REFERENCES store (id)
);
CREATE UNIQUE INDEX sales_order_increment_uq ON sales_order (increment_id);
CREATE INDEX sales_order_customer_idx ON sales_order (customer_id);
CREATE INDEX sales_order_created_idx ON sales_order (created_at);

CREATE TABLE sales_order_item (
  id INTEGER PRIMARY KEY,
  order_id INTEGER NOT NULL,
  product_id INTEGER,
  sku TEXT NOT NULL,
  name TEXT NOT NULL,
  qty INTEGER NOT NULL,
  price DECIMAL(12,2) NOT NULL,
  FOREIGN KEY (order_id) REFERENCES sales_order (id),
  FOREIGN KEY (product_id) REFERENCES product (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX sales_order_item_sku_uq ON sales_order_item (order_id, sku);
CREATE INDEX sales_order_item_product_idx ON sales_order_item (product_id);

CREATE TABLE sales_order_address (
  id INTEGER PRIMARY KEY,
  order_id INTEGER NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('billing', 'shipping')),
  firstname TEXT NOT NULL,
  lastname TEXT NOT NULL,
  street TEXT NOT NULL,
  city TEXT NOT NULL,
  postcode TEXT NOT NULL,
  country TEXT NOT NULL,
  FOREIGN KEY (order_id) REFERENCES sales_order (id)
);
CREATE UNIQUE INDEX sales_order_address_type_uq ON sales_order_address (order_id, type);

CREATE TABLE sales_order_payment (
  id INTEGER PRIMARY KEY,
  order_id INTEGER NOT NULL,
  method TEXT NOT NULL,
  amount DECIMAL(12,2) NOT NULL,
  FOREIGN KEY (order_id) REFERENCES sales_order (id)
);
CREATE UNIQUE INDEX sales_order_payment_order_uq ON sales_order_payment (order_id);

CREATE TABLE invoice (
  id INTEGER PRIMARY KEY,
  increment_id TEXT NOT NULL,
  order_id INTEGER NOT NULL,
  grand_total DECIMAL(12,2) NOT NULL,
  created_at DATETIME NOT NULL,
  FOREIGN KEY (order_id) REFERENCES sales_order (id)
);
CREATE UNIQUE INDEX invoice_increment_uq ON invoice (increment_id);
CREATE INDEX invoice_order_idx ON invoice (order_id);

CREATE TABLE shipment (
  id INTEGER PRIMARY KEY,
  increment_id TEXT NOT NULL,
  order_id INTEGER NOT NULL,
  carrier TEXT NOT NULL,
  tracking_number TEXT NOT NULL,
  created_at DATETIME NOT NULL,
  FOREIGN KEY (order_id) REFERENCES sales_order (id)
);
CREATE UNIQUE INDEX shipment_increment_uq ON shipment (increment_id);
CREATE INDEX shipment_order_idx ON shipment (order_id);

CREATE TABLE creditmemo (
  id INTEGER PRIMARY KEY,
  increment_id TEXT NOT NULL,
  order_id INTEGER NOT NULL,
  grand_total DECIMAL(12,2) NOT NULL,
  reason TEXT NOT NULL,
  created_at DATETIME NOT NULL,
  FOREIGN KEY (order_id) REFERENCES sales_order (id)
);
CREATE UNIQUE INDEX creditmemo_increment_uq ON creditmemo (increment_id);
CREATE INDEX creditmemo_order_idx ON creditmemo (order_id);

CREATE TABLE newsletter_subscriber (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL,
  customer_id INTEGER,
  status TEXT NOT NULL CHECK (status IN ('subscribed', 'unsubscribed')),
  FOREIGN KEY (customer_id) REFERENCES customer (id)
);
CREATE UNIQUE INDEX newsletter_subscriber_email_uq ON newsletter_subscriber (email);
CREATE INDEX newsletter_subscriber_customer_idx ON newsletter_subscriber (customer_id);

CREATE TABLE cms_page (
  id INTEGER PRIMARY KEY,
  slug TEXT NOT NULL,
  title TEXT NOT NULL,
  content TEXT NOT NULL,
  is_active BOOLEAN NOT NULL DEFAULT 1,
  updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX cms_page_slug_uq ON cms_page (slug);

CREATE TABLE coupon (
  id INTEGER PRIMARY KEY,
  code TEXT NOT NULL,
  discount_type TEXT NOT NULL CHECK (discount_type IN ('percent', 'fixed')),
  discount DECIMAL(12,2) NOT NULL,
  expires_at DATE
);
CREATE UNIQUE INDEX coupon_code_uq ON coupon (code);
)sql";
}

}  // namespace tether
