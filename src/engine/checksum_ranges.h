// Checksum ranges: which records of an entity differ between source and target, found without
// reading the records. For a single integer key, both databases checksum the rows in buckets of
// the key's values (Connector::ChecksumBuckets: 8,192 buckets over the key range in one pass);
// buckets whose checksums agree are equal and skipped; a differing bucket of many rows is
// bucketed again over its own keys (so any key distribution narrows down), and for a differing
// bucket of few rows both sides list the hash of each row (Connector::RowHashes), which names
// the keys that differ. A composite key, or a key range wider than 64 bits, is cut instead into
// parts of a few thousand rows at the source's own keys (Connector::KeySplits), each part
// checksummed and, when it differs, hashed row by row. Used by compare runs (tether diff,
// verify) and by full syncs, which then read and write only those records. Runs on the calling
// thread plus one helper thread per call (the two sides work at once); each connector is used
// by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "engine/mapping.h"

namespace tether {

struct ChecksumPlanOptions {
  int64_t buckets = 8192;   // buckets of the first pass over the key range
  int64_t hash_rows = 512;  // a differing bucket of more rows (on either side) is bucketed again
  int64_t split_rows = 64;  // rows per bucket, roughly, when a bucket is bucketed again
  size_t part_rows = 8192;  // source rows per part, where keys are cut into parts
};

// What differs, in key order: records named by key (of either side), or a range the target
// has no row of (read and copied whole: no need to hash what is all new).
struct ChecksumWork {
  std::optional<KeyRange> copy;  // when set, `keys` is empty
  std::vector<Row> keys;
};

struct ChecksumPlan {
  std::vector<ChecksumWork> work;  // in key order
  int64_t equal_rows = 0;          // source rows whose checksums (or row hashes) agreed
  const char* unit = "bucket";     // or "part"
  int64_t checksums = 0;           // buckets or parts compared (each checksummed on both sides)
  int64_t differed = 0;            // of those, how many differed
  int64_t hashed_rows = 0;         // source rows whose rows were hashed one by one
  int64_t differing = 0;           // records named by key in `work`
  int64_t copy_rows = 0;           // source rows in the ranges to copy whole
  // "checksums: 8,131 buckets, 4 differed (488 rows hashed, 12 records differ)", and the rows
  // to copy when there are.
  std::string Summary() const;
};

// Why `m` cannot be compared by checksums, or "" when it can: identity keys of integer columns
// (whose order is the same in every engine, so a range holds the same keys on both sides),
// every target column a plain copy of a source column of the same type class (no value map,
// default, rule, soft-delete column or reference to a parent whose ids differ between the sides),
// no real or json columns (engines print those differently), and both connectors able to
// checksum. `config` tells whether a referenced parent's ids are the same on both sides.
std::string ChecksumIneligibility(const EntityMapping& m, const Config& config,
                                  const Connector& source, const Connector& target);

// The records of `m` that differ within `within` (all rows of the entity: no conditions).
Result<ChecksumPlan> PlanByChecksums(Connector* source, Connector* target, const EntityMapping& m,
                                     const KeyRange& within,
                                     const ChecksumPlanOptions& options = {});

}  // namespace tether
