// Durable outbox: record codec, per-receiver queue with coalescing, and the segment files.
#include "daemon/paging/outbox.hpp"
#include "daemon/storage/durable_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <stdexcept>

namespace tierwatch {
namespace outbox_codec {
namespace {

constexpr std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t crc = i;
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? 0x82f63b78u : 0u);
        table[i] = crc;
    }
    return table;
}
constexpr auto crc_table = make_crc_table();

// Tag of the optional trailing field PageEvent::replaces: severity (u8), tier (u8), labels.
constexpr std::uint8_t replaces_tag = 1;

void put_u8(std::string& out, std::uint8_t v) {
    out.push_back(static_cast<char>(v));
}
void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_string(std::string& out, std::string_view s) {
    put_u32(out, static_cast<std::uint32_t>(s.size()));
    out.append(s);
}
std::uint32_t get_u32(std::string_view b, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i)
        v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)]);
    return v;
}

// Bounds-checked reader over one payload; any overrun marks it bad instead of throwing.
struct Reader {
    std::string_view bytes;
    std::size_t at = 0;
    bool bad = false;

    std::uint64_t uint(int width) {
        if (bytes.size() - at < static_cast<std::size_t>(width)) {
            bad = true;
            return 0;
        }
        std::uint64_t v = 0;
        for (int i = width - 1; i >= 0; --i) {
            v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
        }
        at += static_cast<std::size_t>(width);
        return v;
    }
    std::string string() {
        const auto length = static_cast<std::size_t>(uint(4));
        if (bad || bytes.size() - at < length) {
            bad = true;
            return {};
        }
        std::string s(bytes.substr(at, length));
        at += length;
        return s;
    }
};

std::int64_t to_nanos(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
TimePoint from_nanos(std::int64_t n) {
    return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds(n)));
}

// The event's strings in their on-disk order; encode and decode share it so they cannot drift.
template <typename Event>
auto string_fields(Event& e) {
    return std::array{&e.receiver,       &e.dedup_key,   &e.summary,      &e.labels.node,
                      &e.labels.zone,    &e.labels.role, &e.labels.check, &e.labels.nlb,
                      &e.labels.address, &e.labels.group};
}

template <typename Labels>
auto label_fields(Labels& l) {
    return std::array{&l.node, &l.zone, &l.role, &l.check, &l.nlb, &l.address, &l.group};
}

void finish_record(std::string& out, std::size_t start) {
    const auto length = static_cast<std::uint32_t>(out.size() - start - header_size);
    for (int i = 0; i < 4; ++i)
        out[start + 4 + static_cast<std::size_t>(i)] =
            static_cast<char>((length >> (8 * i)) & 0xff);
    const std::uint32_t crc = crc32c(std::string_view(out).substr(start + 4, 4));
    const std::uint32_t full = crc32c(std::string_view(out).substr(start + header_size), crc);
    for (int i = 0; i < 4; ++i)
        out[start + 8 + static_cast<std::size_t>(i)] = static_cast<char>((full >> (8 * i)) & 0xff);
}

std::size_t begin_record(std::string& out, RecordType type, std::uint64_t id) {
    const std::size_t start = out.size();
    put_u32(out, magic);
    put_u32(out, 0);  // length, filled in by finish_record
    put_u32(out, 0);  // crc
    put_u8(out, static_cast<std::uint8_t>(type));
    put_u64(out, id);
    return start;
}

}  // namespace

namespace {
thread_local std::size_t checksummed = 0;
}  // namespace

std::size_t crc32c_bytes() noexcept {
    return checksummed;
}

std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc) noexcept {
    checksummed += bytes.size();
    crc = ~crc;
    for (const char c : bytes)
        crc = crc_table[(crc ^ static_cast<unsigned char>(c)) & 0xff] ^ (crc >> 8);
    return ~crc;
}

void encode_event(std::string& out, std::uint64_t id, const PageEvent& event) {
    const std::size_t start = begin_record(out, RecordType::event, id);
    put_u8(out, static_cast<std::uint8_t>(event.action));
    put_u8(out, static_cast<std::uint8_t>(event.severity));
    put_u8(out, static_cast<std::uint8_t>(std::clamp(event.tier, 0, 255)));
    put_u8(out, static_cast<std::uint8_t>(event.kind));
    put_u64(out, static_cast<std::uint64_t>(to_nanos(event.starts_at)));
    put_u64(out, static_cast<std::uint64_t>(to_nanos(event.at)));
    for (const std::string* field : string_fields(event)) put_string(out, *field);
    // Optional trailing fields, each a tag and its bytes: records without them (all written
    // before `replaces` was kept) decode as before.
    if (event.replaces) {
        put_u8(out, replaces_tag);
        put_u8(out, static_cast<std::uint8_t>(event.replaces->severity));
        put_u8(out, static_cast<std::uint8_t>(std::clamp(event.replaces->tier, 0, 255)));
        for (const std::string* field : label_fields(event.replaces->labels)) put_string(out, *field);
    }
    finish_record(out, start);
}

void encode_delivered(std::string& out, std::uint64_t id) {
    finish_record(out, begin_record(out, RecordType::delivered, id));
}

std::size_t event_record_size(const PageEvent& event) {
    std::size_t size = header_size + 1 + 8 + 4 + 16;
    for (const std::string* field : string_fields(event)) size += 4 + field->size();
    if (event.replaces) {
        size += 3;
        for (const std::string* field : label_fields(event.replaces->labels))
            size += 4 + field->size();
    }
    return size;
}

DecodeResult decode(std::string_view bytes, Record& out) {
    if (bytes.size() < header_size) {
        // A prefix of the magic may still become a record; anything else cannot.
        for (std::size_t i = 0; i < std::min<std::size_t>(bytes.size(), 4); ++i) {
            if (static_cast<unsigned char>(bytes[i]) != ((magic >> (8 * i)) & 0xff)) {
                return {DecodeStatus::corrupt, 0, "bad magic"};
            }
        }
        return {DecodeStatus::need_more, 0, {}};
    }
    if (get_u32(bytes, 0) != magic) return {DecodeStatus::corrupt, 0, "bad magic"};
    const std::size_t length = get_u32(bytes, 4);
    if (length > max_payload || length < 9) return {DecodeStatus::corrupt, 0, "bad length"};
    if (bytes.size() - header_size < length) return {DecodeStatus::need_more, 0, {}};
    const std::string_view payload = bytes.substr(header_size, length);
    if (crc32c(payload, crc32c(bytes.substr(4, 4))) != get_u32(bytes, 8)) {
        return {DecodeStatus::corrupt, 0, "checksum mismatch"};
    }
    Reader r{payload};
    const auto type = r.uint(1);
    out.id = r.uint(8);
    if (type == static_cast<std::uint8_t>(RecordType::delivered)) {
        out.type = RecordType::delivered;
    } else if (type == static_cast<std::uint8_t>(RecordType::event)) {
        out.type = RecordType::event;
        const auto action = r.uint(1);
        const auto severity = r.uint(1);
        const auto tier = r.uint(1);
        const auto kind = r.uint(1);
        if (action > static_cast<std::uint8_t>(PageAction::resolve) ||
            severity > static_cast<std::uint8_t>(Grade::critical) ||
            kind > static_cast<std::uint8_t>(AlarmKind::flapping)) {
            return {DecodeStatus::corrupt, 0, "bad enum value"};
        }
        PageEvent& e = out.event;
        e.action = static_cast<PageAction>(action);
        e.severity = static_cast<Grade>(severity);
        e.tier = static_cast<int>(tier);
        e.kind = static_cast<AlarmKind>(kind);
        e.starts_at = from_nanos(static_cast<std::int64_t>(r.uint(8)));
        e.at = from_nanos(static_cast<std::int64_t>(r.uint(8)));
        for (std::string* field : string_fields(e)) *field = r.string();
        while (!r.bad && r.at < payload.size()) {
            if (r.uint(1) != replaces_tag) return {DecodeStatus::corrupt, 0, "unknown field"};
            const auto old_severity = r.uint(1);
            const auto old_tier = r.uint(1);
            if (old_severity > static_cast<std::uint8_t>(Grade::critical)) {
                return {DecodeStatus::corrupt, 0, "bad enum value"};
            }
            SentIdentity& old = e.replaces.emplace();
            old.severity = static_cast<Grade>(old_severity);
            old.tier = static_cast<int>(old_tier);
            for (std::string* field : label_fields(old.labels)) *field = r.string();
        }
    } else {
        return {DecodeStatus::corrupt, 0, "unknown record type"};
    }
    // A valid checksum over a payload that does not parse exactly is a writer bug, not a
    // torn write; it is still only skipped.
    if (r.bad || r.at != payload.size()) return {DecodeStatus::corrupt, 0, "malformed payload"};
    return {DecodeStatus::ok, header_size + length, {}};
}

namespace {

// Resynchronising after damage checks a candidate record at every magic byte. Checksumming each
// candidate's payload (up to 256 KiB) made a segment of repeated record headers quadratic, so
// candidates are checked through an index instead. CRC-32C is linear over GF(2): running a CRC
// state c over n bytes B gives shift_n(c) ^ run(0, B), shift_n multiplying by x^(8n) modulo the
// polynomial (zlib's crc32_combine). From the raw state of every 16th prefix of the file, any
// candidate's checksum costs at most 34 bytes and one multiplication.
constexpr std::uint32_t crc_polynomial = 0x82f63b78u;  // reflected, as crc_table

constexpr std::uint32_t multiply_mod_p(std::uint32_t a, std::uint32_t b) {
    std::uint32_t product = 0;
    for (std::uint32_t m = 1u << 31; m != 0; m >>= 1) {
        if (a & m) product ^= b;
        b = (b & 1u) ? (b >> 1) ^ crc_polynomial : b >> 1;
    }
    return product;
}

// x^(2^k) modulo the polynomial, k = 0..31.
constexpr std::array<std::uint32_t, 32> powers_of_x_table() {
    std::array<std::uint32_t, 32> table{};
    std::uint32_t p = 1u << 30;  // x^1
    table[0] = p;
    for (std::size_t k = 1; k < table.size(); ++k) {
        table[k] = p = multiply_mod_p(p, p);
    }
    return table;
}
constexpr auto powers_of_x = powers_of_x_table();

// x^(8n) modulo the polynomial: what n appended bytes multiply a CRC state by.
std::uint32_t shift_for_bytes(std::size_t n) {
    std::uint32_t p = 1u << 31;  // x^0
    for (std::size_t k = 3; n != 0; n >>= 1, ++k) {
        if (n & 1) p = multiply_mod_p(powers_of_x[k & 31], p);
    }
    return p;
}

// The CRC state after running `state` over `bytes`, without crc32c's pre- and post-inversion.
std::uint32_t run_crc(std::uint32_t state, std::string_view bytes) {
    return ~crc32c(bytes, ~state);
}

class ChecksumIndex {
public:
    explicit ChecksumIndex(std::string_view bytes) : bytes_(bytes) {
        states_.reserve(bytes.size() / stride + 1);
        std::uint32_t state = 0;
        states_.push_back(state);
        for (std::size_t at = 0; bytes.size() - at >= stride; at += stride) {
            state = run_crc(state, bytes.substr(at, stride));
            states_.push_back(state);
        }
    }

    // Whether the record at `at`, whose `length`-byte payload lies inside the bytes, carries the
    // checksum of its length field and payload.
    bool checksum_ok(std::size_t at, std::size_t length) const {
        const std::uint32_t after_length = run_crc(~0u, bytes_.substr(at + 4, 4));
        const std::size_t payload = at + header_size;
        const std::uint32_t state =
            multiply_mod_p(shift_for_bytes(length), after_length ^ prefix(payload)) ^
            prefix(payload + length);
        return ~state == get_u32(bytes_, at + 8);
    }

private:
    static constexpr std::size_t stride = 16;

    // The CRC state from 0 over bytes [0, end).
    std::uint32_t prefix(std::size_t end) const {
        const std::size_t block = end / stride;
        return run_crc(states_[block], bytes_.substr(block * stride, end - block * stride));
    }

    std::string_view bytes_;
    std::vector<std::uint32_t> states_;
};

// Why no record can start at `at` (decode's words), or empty when its checksum holds.
std::string_view record_problem(std::string_view bytes, std::size_t at, const ChecksumIndex& index) {
    const std::string_view rest = bytes.substr(at);
    if (rest.size() < header_size) {
        for (std::size_t i = 0; i < std::min<std::size_t>(rest.size(), 4); ++i) {
            if (static_cast<unsigned char>(rest[i]) != ((magic >> (8 * i)) & 0xff)) return "bad magic";
        }
        return "truncated record";
    }
    if (get_u32(rest, 0) != magic) return "bad magic";
    const std::size_t length = get_u32(rest, 4);
    if (length > max_payload || length < 9) return "bad length";
    if (rest.size() - header_size < length) return "truncated record";
    return index.checksum_ok(at, length) ? std::string_view() : "checksum mismatch";
}

}  // namespace

Scan scan(std::string_view bytes) {
    Scan result;
    // Built at the first damage: an undamaged file is read in one checksum pass per record.
    std::optional<ChecksumIndex> index;
    std::size_t at = 0;
    while (at < bytes.size()) {
        Record record;
        if (!index) {
            const DecodeResult r = decode(bytes.substr(at), record);
            if (r.status == DecodeStatus::ok) {
                result.records.push_back(std::move(record));
                at += r.size;
            } else {
                index.emplace(bytes);  // and look at the same offset again, through it
            }
            continue;
        }
        std::string_view why = record_problem(bytes, at, *index);
        if (why.empty()) {
            const DecodeResult r = decode(bytes.substr(at), record);
            if (r.status == DecodeStatus::ok) {
                result.records.push_back(std::move(record));
                at += r.size;
                continue;
            }
            // A checksum that holds over a payload that does not parse is a writer's bug; the
            // record's own length says where it ends.
            const std::size_t size = header_size + get_u32(bytes, at + 4);
            result.damage.push_back(Damage{at, size, false, std::string(r.why)});
            at += size;
            continue;
        }
        // Resynchronise on the next offset where a record with a valid checksum starts.
        std::size_t next = at + 1;
        for (; next < bytes.size(); ++next) {
            if (static_cast<unsigned char>(bytes[next]) != (magic & 0xff)) continue;
            if (record_problem(bytes, next, *index).empty()) break;
        }
        result.damage.push_back(Damage{at, next - at, next >= bytes.size(), std::string(why)});
        at = next;
    }
    return result;
}

}  // namespace outbox_codec

// ---------------------------------------------------------------------------------------------

namespace {

bool firing(PageAction action) {
    return action != PageAction::resolve;
}
// The receiver's first word of an alarm: it must not be coalesced into a later resolve.
bool opening(PageAction action) {
    return action == PageAction::trigger || action == PageAction::escalate;
}

// `newer` supersedes the undelivered `older`, so the receiver still knows what it knew before
// `older`: nothing if `older` opened the alarm, else what `older` was to replace.
void carry_replaces(const PageEvent& older, PageEvent& newer) {
    if (opening(older.action)) {
        newer.replaces.reset();
    } else if (older.replaces) {
        newer.replaces = older.replaces;
    }
    if (newer.replaces == newer.identity()) newer.replaces.reset();
}

}  // namespace

bool OutboxQueue::over(std::size_t extra_bytes) const noexcept {
    return events_ + 1 > limits_.max_events || bytes_ + extra_bytes > limits_.max_bytes;
}

void OutboxQueue::erase(std::deque<OutboxEntry>& queue, std::deque<OutboxEntry>::iterator it,
                        std::vector<OutboxEntry>& removed) {
    events_ -= 1;
    bytes_ -= it->bytes;
    removed.push_back(std::move(*it));
    queue.erase(it);
}

OutboxQueue::Added OutboxQueue::add(OutboxEntry entry, bool enforce_limits) {
    Added result;
    auto& queue = queues_[entry.event.receiver];
    const std::string& key = entry.event.dedup_key;
    for (auto it = queue.begin(); it != queue.end();) {
        if (it->in_flight || it->event.dedup_key != key) {
            ++it;
            continue;
        }
        const PageAction older = it->event.action;
        const PageAction newer = entry.event.action;
        const bool supersede = older == PageAction::repeat || (opening(older) && firing(newer)) ||
                               (older == PageAction::resolve && newer == PageAction::resolve);
        if (!supersede) {
            ++it;
            continue;
        }
        // The receiver never heard the older trigger: the newer content goes out as one.
        if (opening(older) && newer == PageAction::repeat) entry.event.action = older;
        carry_replaces(it->event, entry.event);
        entry.bytes = outbox_codec::event_record_size(entry.event);
        const auto index = it - queue.begin();
        erase(queue, it, result.superseded);
        it = queue.begin() + index;
    }
    if (enforce_limits && over(entry.bytes)) {
        result.was_full = true;
        // Under pressure, a trigger and its resolve that are both still undelivered cancel
        // out: the alarm came and went. A resolve arriving for such a trigger cancels it too.
        if (entry.event.action == PageAction::resolve) {
            for (auto it = queue.begin(); it != queue.end(); ++it) {
                if (!it->in_flight && it->event.dedup_key == key && opening(it->event.action)) {
                    erase(queue, it, result.superseded);
                    result.superseded.push_back(std::move(entry));
                    result.accepted = true;
                    return result;
                }
            }
        }
        coalesce_pairs(result.superseded);
        if (over(entry.bytes)) return result;
    }
    events_ += 1;
    bytes_ += entry.bytes;
    queue.push_back(std::move(entry));
    result.accepted = true;
    return result;
}

void OutboxQueue::coalesce_pairs(std::vector<OutboxEntry>& removed) {
    for (auto& [receiver, queue] : queues_) {
        for (auto resolve = queue.begin(); resolve != queue.end();) {
            if (resolve->in_flight || resolve->event.action != PageAction::resolve) {
                ++resolve;
                continue;
            }
            auto trigger = std::find_if(queue.begin(), resolve, [&](const OutboxEntry& e) {
                return !e.in_flight && opening(e.event.action) &&
                       e.event.dedup_key == resolve->event.dedup_key;
            });
            if (trigger == resolve) {
                ++resolve;
                continue;
            }
            const auto index = trigger - queue.begin();
            const auto resolve_index = resolve - queue.begin() - 1;
            erase(queue, trigger, removed);
            erase(queue, queue.begin() + resolve_index, removed);
            resolve = queue.begin() + std::min<std::ptrdiff_t>(index, resolve_index);
        }
    }
}

OutboxEntry* OutboxQueue::front(std::string_view receiver) {
    const auto found = queues_.find(receiver);
    if (found == queues_.end() || found->second.empty()) return nullptr;
    return &found->second.front();
}

OutboxEntry* OutboxQueue::find(std::string_view receiver, std::uint64_t id) {
    const auto found = queues_.find(receiver);
    if (found == queues_.end()) return nullptr;
    for (auto& entry : found->second) {
        if (entry.id == id) return &entry;
    }
    return nullptr;
}

std::optional<OutboxEntry> OutboxQueue::remove(std::string_view receiver, std::uint64_t id) {
    const auto found = queues_.find(receiver);
    if (found == queues_.end()) return std::nullopt;
    auto& queue = found->second;
    const auto it =
        std::find_if(queue.begin(), queue.end(), [id](const OutboxEntry& e) { return e.id == id; });
    if (it == queue.end()) return std::nullopt;
    std::vector<OutboxEntry> removed;
    erase(queue, it, removed);
    return std::move(removed.front());
}

bool OutboxQueue::has_pending(std::string_view receiver, std::string_view dedup_key) const {
    const auto found = queues_.find(receiver);
    if (found == queues_.end()) return false;
    return std::any_of(found->second.begin(), found->second.end(), [&](const OutboxEntry& e) {
        return !e.in_flight && e.event.dedup_key == dedup_key;
    });
}

std::size_t OutboxQueue::size(std::string_view receiver) const {
    const auto found = queues_.find(receiver);
    return found == queues_.end() ? 0 : found->second.size();
}

std::vector<std::string> OutboxQueue::receivers() const {
    std::vector<std::string> names;
    for (const auto& [name, queue] : queues_) names.push_back(name);
    return names;
}

std::vector<const OutboxEntry*> OutboxQueue::entries() const {
    std::vector<const OutboxEntry*> all;
    for (const auto& [name, queue] : queues_) {
        for (const auto& entry : queue) all.push_back(&entry);
    }
    return all;
}

// ---------------------------------------------------------------------------------------------

namespace {

constexpr std::size_t compact_min_bytes = 1024 * 1024;
// Compaction keeps a segment near four times the queued bytes (16 MiB by default); a segment far
// past that is not one this daemon wrote, and reading it whole could exhaust memory.
constexpr std::size_t max_segment_bytes = 256 * 1024 * 1024;

std::string segment_name(std::uint64_t number) {
    char name[32];
    std::snprintf(name, sizeof name, "segment-%08llu.log", static_cast<unsigned long long>(number));
    return name;
}

std::optional<std::uint64_t> segment_number(const std::string& name) {
    unsigned long long number = 0;
    int used = 0;
    if (std::sscanf(name.c_str(), "segment-%8llu.log%n", &number, &used) == 1 &&
        static_cast<std::size_t>(used) == name.size()) {
        return number;
    }
    return std::nullopt;
}

}  // namespace

Outbox::Outbox(std::filesystem::path dir, OutboxLimits limits, metrics::Registry& registry)
    : dir_(std::move(dir)),
      queue_(limits),
      depth_(
          registry.gauge("tierwatch_outbox_depth", "Page events waiting in the outbox.").with({})),
      corrupt_(registry
                   .counter("tierwatch_outbox_corrupt_records_total",
                            "Damaged outbox records (torn or corrupt) skipped on replay.")
                   .with({})),
      full_(registry
                .counter("tierwatch_outbox_full_total",
                         "Page events that found the outbox at its bound (coalesced or refused).")
                .with({})),
      write_errors_(registry.counter("tierwatch_outbox_write_errors_total",
                                     "Outbox writes the disk refused, by errno name.", {"error"})),
      writable_(registry
                    .gauge("tierwatch_outbox_writable",
                           "1 while outbox writes succeed; 0 after the disk refused one (new "
                           "pages are then kept in memory only) until a write succeeds again.")
                    .with({})) {
    writable_.set(1);
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec)
        throw std::runtime_error("cannot create outbox directory " + dir_.string() + ": " +
                                 ec.message());
    replay();
    update_depth();
}

Outbox::~Outbox() {
    if (fd_ >= 0) ::close(fd_);
}

void Outbox::replay() {
    std::vector<std::pair<std::uint64_t, std::filesystem::path>> segments;
    std::error_code ec;
    for (const auto& item : std::filesystem::directory_iterator(dir_, ec)) {
        const std::string name = item.path().filename().string();
        if (name.ends_with(".tmp")) {
            // An interrupted compaction: its source segment is still there.
            std::filesystem::remove(item.path(), ec);
        } else if (const auto number = segment_number(name)) {
            segments.emplace_back(*number, item.path());
        }
    }
    if (ec)
        throw std::runtime_error("cannot list outbox directory " + dir_.string() + ": " +
                                 ec.message());
    std::sort(segments.begin(), segments.end());

    // Records go through the same queue logic as live events, so replay coalesces too. They are
    // added in id order, which is arrival order: a page the disk refused while it was full is
    // written later than newer pages (see write_refused), and must not lose its place. An id
    // can appear in two segments when a crash hit between a compaction's rename and unlink.
    std::map<std::uint64_t, PageEvent> events;
    std::set<std::uint64_t> delivered;
    std::size_t damaged = 0;
    for (const auto& [number, path] : segments) {
        segment_ = std::max(segment_, number);
        const auto bytes = read_file(path, max_segment_bytes);
        if (!bytes && bytes.error().too_large) {
            spdlog::error("outbox: {} is {}; {}, its pages are skipped", path.string(),
                          bytes.error().text, set_aside(path));
            continue;
        }
        if (!bytes) {
            spdlog::error("outbox: cannot read {}: {}; its pages are skipped", path.string(),
                          bytes.error().text);
            continue;
        }
        auto scanned = outbox_codec::scan(*bytes);
        for (const auto& damage : scanned.damage) {
            spdlog::error("outbox: {} at {} offset {} ({} bytes): {}; skipped",
                          damage.tail ? "torn tail" : "corrupt record", path.string(),
                          damage.offset, damage.length, damage.why);
            corrupt_.inc();
            ++damaged;
        }
        for (auto& record : scanned.records) {
            next_id_ = std::max(next_id_, record.id + 1);
            if (record.type == outbox_codec::RecordType::delivered) {
                delivered.insert(record.id);
            } else {
                events.try_emplace(record.id, std::move(record.event));
            }
        }
    }
    for (auto& [id, event] : events) {
        if (delivered.count(id)) continue;
        OutboxEntry entry;
        entry.id = id;
        entry.bytes = outbox_codec::event_record_size(event);
        entry.event = std::move(event);
        queue_.add(std::move(entry), false);
    }
    if (!segments.empty()) {
        spdlog::info(
            "outbox: replayed {} segment(s) in {}: {} page(s) pending, {} damaged record(s)",
            segments.size(), dir_.string(), queue_.size(), damaged);
    }

    // Start a fresh segment holding only the live events: drops tombstones and damage.
    std::string contents;
    for (const OutboxEntry* entry : queue_.entries())
        outbox_codec::encode_event(contents, entry->id, entry->event);
    const auto started = start_segment(segment_ + 1, contents);
    if (started) {
        for (const auto& [number, path] : segments) {
            if (number != segment_) std::filesystem::remove(path, ec);
        }
        // Best effort: a crash before this only replays the removed segments again.
        if (!segments.empty()) (void)sync_directory(dir_);
        return;
    }
    spdlog::error("outbox: cannot compact into {}: {}", dir_.string(), started.error());
    if (segments.empty())
        throw std::runtime_error("cannot create outbox segment in " + dir_.string() + ": " +
                                 started.error());
    // Keep appending to the newest old segment; replay resynchronises past its damage.
    segment_ = segments.back().first;
    fd_ = ::open(segments.back().second.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd_ < 0)
        throw std::runtime_error("cannot open " + segments.back().second.string() + ": " +
                                 std::strerror(errno));
    struct stat st {};
    file_bytes_ = ::fstat(fd_, &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
}

Expected<> Outbox::start_segment(std::uint64_t number, const std::string& contents) {
    const auto final_path = dir_ / segment_name(number);
    const auto temp_path = dir_ / (segment_name(number) + ".tmp");
    const int fd =
        ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return unexpected(errno_text("create segment", errno));
    const int old_fd = fd_;
    const std::size_t old_bytes = file_bytes_;
    fd_ = fd;
    file_bytes_ = 0;
    Expected<> written = write_all(contents, true);
    if (written && ::rename(temp_path.c_str(), final_path.c_str()) != 0)
        written = unexpected(errno_text("rename segment", errno));
    // The rename is only durable once the directory is: until then a crash replays the old one.
    if (written) written = sync_directory(dir_);
    if (!written) {
        ::close(fd);
        ::unlink(temp_path.c_str());
        fd_ = old_fd;
        file_bytes_ = old_bytes;
        return written;
    }
    if (old_fd >= 0) ::close(old_fd);
    segment_ = number;
    return {};
}

Expected<> Outbox::write_all(const std::string& bytes, bool sync) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int code = n < 0 ? errno : ENOSPC;
            std::string error = errno_text("write", code);
            write_errors_.with({errno_name(code)}).inc();
            // Cut the partial record off so the segment stays a clean sequence of records.
            if (done > 0 && ::ftruncate(fd_, static_cast<off_t>(file_bytes_)) != 0) {
                error += " (and the partial record could not be cut off; replay will skip it)";
            }
            return unexpected(std::move(error));
        }
        done += static_cast<std::size_t>(n);
    }
    if (sync && ::fdatasync(fd_) != 0) {
        const int code = errno;
        std::string error = errno_text("fsync", code);
        write_errors_.with({errno_name(code)}).inc();
        if (::ftruncate(fd_, static_cast<off_t>(file_bytes_)) != 0) error += " (truncate failed)";
        return unexpected(std::move(error));
    }
    file_bytes_ += bytes.size();
    return {};
}

Outbox::Appended Outbox::append(PageEvent event, bool durable) {
    std::vector<PageEvent> one;
    one.push_back(std::move(event));
    return std::move(append(std::move(one), durable).front());
}

std::vector<Outbox::Appended> Outbox::append(std::vector<PageEvent> events, bool durable) {
    std::vector<Appended> results(events.size());
    std::vector<std::pair<std::string, std::uint64_t>> written;  // event records in this batch
    scratch_.clear();
    for (std::size_t i = 0; i < events.size(); ++i) {
        Appended& result = results[i];
        result.id = next_id_++;
        result.status = durable ? OutboxWrite::durable : OutboxWrite::memory_only;
        OutboxEntry entry;
        entry.id = result.id;
        entry.bytes = outbox_codec::event_record_size(events[i]);
        entry.durable = durable;
        entry.event = std::move(events[i]);
        const std::string receiver = entry.event.receiver;
        const std::string key = entry.event.dedup_key;

        const auto added = queue_.add(std::move(entry));
        if (added.was_full) {
            full_.inc();
            spdlog::warn("outbox: full ({} events, {} bytes; limits {} / {}): {}", queue_.size(),
                         queue_.bytes(), queue_.limits().max_events, queue_.limits().max_bytes,
                         added.accepted ? "coalesced superseded events" : "page refused");
        }
        if (!added.accepted) {
            result.status = OutboxWrite::full;
            result.error = "outbox full: page for " + receiver + " (" + key + ") refused";
            continue;
        }
        for (const auto& gone : added.superseded) {
            if (gone.durable && gone.id != result.id)
                outbox_codec::encode_delivered(scratch_, gone.id);
        }
        // Encoded as queued: coalescing may have changed its action. A resolve that cancelled
        // its undelivered trigger under pressure is not queued and needs no record.
        const OutboxEntry* queued = queue_.find(receiver, result.id);
        if (durable && queued != nullptr) {
            outbox_codec::encode_event(scratch_, result.id, queued->event);
            written.emplace_back(receiver, result.id);
        }
    }
    const Expected<> stored = scratch_.empty() ? Expected<>{} : write_all(scratch_, !written.empty());
    if (!stored) {
        const std::string why = "cannot write outbox in " + dir_.string() + ": " + stored.error();
        for (const auto& [receiver, id] : written) {
            if (OutboxEntry* entry = queue_.find(receiver, id)) {
                entry->durable = false;
                entry->refused = true;
            }
        }
        for (Appended& result : results) {
            if (result.status != OutboxWrite::durable) continue;
            result.status = OutboxWrite::memory_only;
            result.error = why;
        }
        if (!disk_error_logged_) {
            spdlog::error("outbox: {}; pages are kept in memory only until the disk recovers", why);
            disk_error_logged_ = true;
            writable_.set(0);
        }
    } else if (!written.empty() && disk_error_logged_) {
        write_refused();
    }
    update_depth();
    return results;
}

void Outbox::remove(std::string_view receiver, std::uint64_t id) {
    const auto removed = queue_.remove(receiver, id);
    update_depth();
    if (!removed || !removed->durable) return;
    // Not fsync'd: a tombstone lost to a power cut only re-sends a page under the same dedup
    // key, which every receiver deduplicates; a process crash keeps it in the page cache.
    scratch_.clear();
    outbox_codec::encode_delivered(scratch_, id);
    if (const auto recorded = write_all(scratch_, false); !recorded) {
        if (!disk_error_logged_) {
            spdlog::error("outbox: cannot record delivery in {}: {}", dir_.string(),
                          recorded.error());
            disk_error_logged_ = true;
            writable_.set(0);
        }
    } else if (disk_error_logged_) {
        write_refused();
    }
    maybe_compact();
}

void Outbox::write_refused() {
    std::string contents;
    std::vector<OutboxEntry*> refused;
    for (const OutboxEntry* entry : queue_.entries()) {
        if (!entry->refused) continue;
        outbox_codec::encode_event(contents, entry->id, entry->event);
        refused.push_back(queue_.find(entry->event.receiver, entry->id));
    }
    if (!contents.empty() && !write_all(contents, true)) return;  // still refused
    for (OutboxEntry* entry : refused) {
        entry->durable = true;
        entry->refused = false;
    }
    spdlog::info("outbox: writing to {} again; {} page(s) kept in memory meanwhile are on disk now",
                 dir_.string(), refused.size());
    disk_error_logged_ = false;
    writable_.set(1);
}

void Outbox::maybe_compact() {
    if (file_bytes_ < compact_min_bytes || file_bytes_ < 4 * (queue_.bytes() + 1)) return;
    std::string contents;
    for (const OutboxEntry* entry : queue_.entries()) {
        if (entry->durable) outbox_codec::encode_event(contents, entry->id, entry->event);
    }
    const std::uint64_t old = segment_;
    if (const auto started = start_segment(segment_ + 1, contents); !started) {
        spdlog::warn("outbox: compaction failed: {}", started.error());
        return;
    }
    std::error_code ec;
    std::filesystem::remove(dir_ / segment_name(old), ec);
}

void Outbox::update_depth() {
    depth_.set(static_cast<double>(queue_.size()));
}

}  // namespace tierwatch
