// Checksum ranges: which key ranges of an entity differ between source and target, found
// without reading the rows — each database checksums a range of its own table
// (Connector::Checksum), ranges whose checksums agree are equal and skipped, and a range that
// differs is cut (at the source's own keys: Connector::KeySplits, so any key distribution gives
// parts of similar size) and compared again, down to small ranges whose rows are then compared
// one by one by the caller. Used by compare runs (tether diff, verify) and by full syncs, which
// then skip what already matches. Runs on the calling thread plus one helper thread per
// checksum (the two sides are checksummed at once); each connector is used by one thread at a
// time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "engine/mapping.h"

namespace tether {

struct ChecksumPlanOptions {
  size_t fanout = 32;       // parts a differing range is cut into
  size_t leaf_rows = 1000;  // a differing range this small (source rows) is compared row by row
};

struct ChecksumPlan {
  std::vector<KeyRange> differing;  // in key order; every source and target row outside them
                                    // is in a range whose checksums agreed
  int64_t equal_rows = 0;           // source rows in ranges whose checksums agreed
  int64_t ranges = 0;               // ranges checksummed (on each side)
  int64_t differing_rows = 0;       // source rows in the differing ranges
  // "checksums: 1,024 ranges, 12 differed (12,000 of 1,000,000 source rows compared)".
  std::string Summary() const;
};

// Why `m` cannot be compared by checksums, or "" when it can: identity keys of integer columns
// (whose order is the same in every engine, so a range holds the same keys on both sides),
// every target column a plain copy of a source column of the same type class (no value map,
// default, rule, soft-delete column or reference to a mapped parent), no real or json columns
// (engines print those differently), and both connectors able to checksum.
// `config` tells whether a referenced parent is identity-keyed too.
std::string ChecksumIneligibility(const EntityMapping& m, const Config& config,
                                  const Connector& source, const Connector& target);

// The differing ranges of `m` within `within` (rows matching no condition: the whole entity).
Result<ChecksumPlan> PlanByChecksums(Connector* source, Connector* target, const EntityMapping& m,
                                     const KeyRange& within,
                                     const ChecksumPlanOptions& options = {});

}  // namespace tether
