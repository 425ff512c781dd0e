"""The queues of the waiting room, shared by every instance (Redis) and changed atomically.

A *place* belongs to one browser (its ``member`` name) in one *queue*: a merchant's, or an
event's when the event is marked for an on-sale. Places are ordered by arrival; one that
arrives before its queue opens (the pre-queue) gets a random rank below every later arrival,
which is the pre-queue shuffled at the opening. *Admission* hands out passes at the rate the
upstream budget can carry (``interval_ms`` apart, a GCRA bucket like the budget's), taking
the head of the open queue served longest ago, so merchants share the rate in turns. A place
whose browser has not looked for ``away_ms`` is given up when it reaches the head, without
using a turn. A pass lets its browser start one order within ``pass_ms``.

Everything happens in one Lua script per operation, so two instances never admit twice or
lose a place. Where no Redis is configured the same script runs on an in-process server
(fakeredis): one process, the same rules.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from infra.rediscache import run_script

# KEYS[1]: the prefix of every key ("…{room}:": one Redis Cluster slot).
# ARGV: op, now (ms), interval (ms a pass), tolerance (ms: (burst - 1) × interval), away (ms),
# pass (ms), member, holding (1: no turns now), then the op's own: enter: queue, address,
# cap per address, rank (-1: by arrival), opens at (ms, 0: open), what is wanted ("variant:
# quantity,…"); stock: the copy's version, then pairs of variant, tickets left (-1: no count).
SCRIPT = """
local P = KEYS[1]
local op, now = ARGV[1], tonumber(ARGV[2])
local interval, tolerance = tonumber(ARGV[3]), tonumber(ARGV[4])
local away, pass_ms, member = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local holding = ARGV[8] == "1"
local CATCH_UP_MS = 15000
local PACE_TURNS = 10
local RECENT_MS = 60000  -- how far back another queue's turns count against this one's share
local SERVED_KEPT = 40
local last_look = tonumber(redis.call("GET", P .. "looked") or "0")

local function opens(q) return tonumber(redis.call("HGET", P .. "opens", q) or "0") end
local function closed(q) return redis.call("SISMEMBER", P .. "closed", q) == 1 end
local function serving(q) return opens(q) <= now and not closed(q) end

local function drop(m, q)
  redis.call("HDEL", P .. "want", m)
  redis.call("ZREM", P .. "q:" .. q, m)
  redis.call("HDEL", P .. "where", m)
  redis.call("HDEL", P .. "seen", m)
  local address = redis.call("HGET", P .. "address", m)
  if address then
    redis.call("SREM", P .. "a:" .. address, m)
    redis.call("HDEL", P .. "address", m)
  end
  if redis.call("ZCARD", P .. "q:" .. q) == 0 then redis.call("ZREM", P .. "turns", q) end
end

-- A turn from the bucket. ``catching_up``: for those already waiting, turns due since the
-- room was last looked at (at most CATCH_UP_MS ago) are still theirs, though nobody asked
-- on the dot.
local function take_turn(catching_up)
  if holding then return false end
  if interval <= 0 then return true end
  local floor = catching_up and math.max(now - CATCH_UP_MS, last_look) or now
  local tat = math.max(tonumber(redis.call("GET", P .. "tat") or "0"), floor)
  if tat - tolerance > now then return false end
  local next = tat + interval
  redis.call("SET", P .. "tat", tostring(next), "PX", math.ceil(next - now) + 60000)
  return true
end

-- A pass holds the time it lapses (the caller's clock; Redis's own expiry only cleans up).
local function has_pass(m)
  return tonumber(redis.call("GET", P .. "pass:" .. m) or "0") > now
end

-- "variant:quantity,…" as {variant = quantity}; a variant is "<api>.<id>" (or an id).
local function parse(want)
  local found = {}
  for v, n in string.gmatch(want or "", "([%w.]+):(%d+)") do found[v] = tonumber(n) end
  return found
end

-- Tickets of a variant claimed: wanted by those admitted who have not made their order yet.
local function claimed(v)
  local key = P .. "vclaims:" .. v
  redis.call("ZREMRANGEBYSCORE", key, "-inf", now)
  local sum = 0
  for _, m in ipairs(redis.call("ZRANGE", key, 0, -1)) do
    sum = sum + (parse(redis.call("HGET", P .. "claim", m))[v] or 0)
  end
  return sum
end

-- Whether a buyer wanting ``want`` can be admitted: while some of what they want is
-- unclaimed (or not counted), so everyone admitted can buy, the last perhaps fewer.
local function room_for(want)
  local any = false
  for v, _ in pairs(parse(want)) do
    any = true
    local left = redis.call("HGET", P .. "vstock", v)
    if not left or claimed(v) < tonumber(left) then return true end
  end
  return not any
end

local function unclaim(m)
  for v, _ in pairs(parse(redis.call("HGET", P .. "claim", m))) do
    redis.call("ZREM", P .. "vclaims:" .. v, m)
  end
  redis.call("HDEL", P .. "claim", m)
end

local function grant(m, q, want)
  redis.call("SET", P .. "pass:" .. m, now + pass_ms, "PX", pass_ms + 60000)
  redis.call("HSET", P .. "claim", m, want)
  for v, _ in pairs(parse(want)) do
    redis.call("ZADD", P .. "vclaims:" .. v, now + pass_ms, m)
  end
  local turn = redis.call("INCR", P .. "admitted:" .. q)
  redis.call("SET", P .. "turn:" .. m, turn, "PX", pass_ms + 60000)
  redis.call("LPUSH", P .. "served:" .. q, now)
  redis.call("LTRIM", P .. "served:" .. q, 0, SERVED_KEPT - 1)
  redis.call("ZADD", P .. "served", now, q)
end

-- Milliseconds between this queue's turns lately (its share of the rate as it really went),
-- or nil when it has not been served often enough of late to tell.
local function pace(q)
  local times = redis.call("LRANGE", P .. "served:" .. q, 0, PACE_TURNS - 1)
  if #times < PACE_TURNS then return nil end
  local newest, oldest = tonumber(times[1]), tonumber(times[#times])
  if now - newest > 2 * (newest - oldest) / (#times - 1) + 10000 then return nil end
  return (newest - oldest) / (#times - 1)
end

-- Turns a millisecond queue ``q`` took lately: those of the last RECENT_MS, over the time
-- they span (at least half of it, so one turn just now is not read as a torrent).
local function lately_taken(q)
  local n, oldest = 0, now
  for _, t in ipairs(redis.call("LRANGE", P .. "served:" .. q, 0, -1)) do
    t = tonumber(t)
    if now - t < RECENT_MS then n, oldest = n + 1, math.min(oldest, t) end
  end
  return n / math.max(now - oldest, RECENT_MS / 2)
end

-- Milliseconds between this queue's turns to expect: round robin gives every queue that
-- wants more than an even share its even share, and what the others lately took less of
-- to the rest. Other merchants' buyers come back one after another, so what they took
-- lately says more than how many of them wait at this instant.
local function share_interval(q)
  redis.call("ZREMRANGEBYSCORE", P .. "served", "-inf", now - RECENT_MS)
  local others = {}
  for _, other in ipairs(redis.call("ZRANGE", P .. "served", 0, -1)) do
    if other ~= q then table.insert(others, lately_taken(other)) end
  end
  local total = 1 / interval
  local even = total / (#others + 1)
  local taken = 0
  for _, rate in ipairs(others) do taken = taken + math.min(rate, even) end
  return 1 / math.max(total - taken, even)
end

-- Hand out every turn due, one queue after another; a queue whose first buyer wants only
-- what those admitted already claim waits its turn.
local function advance()
  redis.call("SET", P .. "looked", now, "PX", CATCH_UP_MS * 4)
  local given, dropped = 0, 0
  while given < 500 and dropped < 1000 do
    local pick, head, again = nil, nil, false
    for _, q in ipairs(redis.call("ZRANGE", P .. "turns", 0, -1)) do
      if serving(q) then
        local first = redis.call("ZRANGE", P .. "q:" .. q, 0, 0)[1]
        if not first then
          redis.call("ZREM", P .. "turns", q)
        elseif now - tonumber(redis.call("HGET", P .. "seen", first) or "0") > away then
          drop(first, q)
          dropped, again = dropped + 1, true
          break
        elseif room_for(redis.call("HGET", P .. "want", first)) then
          pick, head = q, first
          break
        end
      end
    end
    if not again then
      if not pick or not take_turn(true) then return end
      local want = redis.call("HGET", P .. "want", head) or ""
      drop(head, pick)
      grant(head, pick, want)
      given = given + 1
      if redis.call("ZCARD", P .. "q:" .. pick) > 0 then
        redis.call("ZADD", P .. "turns", redis.call("INCR", P .. "tick"), pick)
      end
    end
  end
end

-- Where a member stands: position, and the turns before theirs under round robin.
local function place(m)
  if has_pass(m) then
    return {"admitted", tonumber(redis.call("GET", P .. "turn:" .. m) or "0")}
  end
  local q = redis.call("HGET", P .. "where", m)
  if not q then return {"none"} end
  redis.call("HSET", P .. "seen", m, now)
  local position = redis.call("ZRANK", P .. "q:" .. q, m) + 1
  local before = position
  for _, other in ipairs(redis.call("ZRANGE", P .. "turns", 0, -1)) do
    if other ~= q and serving(other) then
      before = before + math.min(redis.call("ZCARD", P .. "q:" .. other), position)
    end
  end
  local tat = math.max(tonumber(redis.call("GET", P .. "tat") or "0"), now)
  local first = math.max(tat - tolerance - now, opens(q) - now, 0)
  if closed(q) then return {"closed", position, 0, q} end
  -- The longer of what the queue's share of turns and those waiting now say.
  local by_share = interval > 0 and first + (position - 1) * share_interval(q) or 0
  local lately = pace(q)
  if lately and opens(q) <= now then
    -- This queue's next turn comes a pace after its last, then one a pace for each ahead.
    local last = tonumber(redis.call("LINDEX", P .. "served:" .. q, 0))
    local next_turn = math.max(last + lately - now, first)
    local by_pace = next_turn + (position - 1) * lately
    return {"waiting", position, math.floor(math.max(by_pace, by_share)), q}
  end
  local by_line = first + (before - 1) * interval
  return {"waiting", position, math.floor(math.max(by_line, by_share)), q}
end

if op == "enter" then
  local q, address, cap = ARGV[9], ARGV[10], tonumber(ARGV[11])
  local rank, opens_at, want = tonumber(ARGV[12]), tonumber(ARGV[13]), ARGV[14]
  if opens_at > 0 then
    redis.call("HSET", P .. "opens", q, opens_at)
  else
    redis.call("HDEL", P .. "opens", q)
  end
  advance()
  if has_pass(member) or redis.call("HEXISTS", P .. "where", member) == 1 then
    return place(member)
  end
  -- Nobody waits in this line and a turn is free (advance gave every due turn): in.
  local nobody_ahead = redis.call("ZCARD", P .. "q:" .. q) == 0
  if nobody_ahead and serving(q) and room_for(want) and take_turn(false) then
    grant(member, q, want)
    return place(member)
  end
  if redis.call("SCARD", P .. "a:" .. address) >= cap then return {"full"} end
  if rank < 0 or opens(q) <= now then rank = redis.call("INCR", P .. "seq") + 1 end
  redis.call("ZADD", P .. "q:" .. q, rank, member)
  redis.call("HSET", P .. "want", member, want)
  redis.call("HSET", P .. "where", member, q)
  redis.call("HSET", P .. "address", member, address)
  redis.call("SADD", P .. "a:" .. address, member)
  redis.call("EXPIRE", P .. "a:" .. address, 86400)
  redis.call("ZADD", P .. "turns", "NX", redis.call("GET", P .. "tick") or 0, q)
  return place(member)
elseif op == "status" then
  advance()
  return place(member)
elseif op == "use" then
  local valid = has_pass(member)
  redis.call("DEL", P .. "pass:" .. member)
  unclaim(member)
  return valid and 1 or 0
elseif op == "leave" then
  local q = redis.call("HGET", P .. "where", member)
  if q then drop(member, q) end
  redis.call("DEL", P .. "pass:" .. member)
  unclaim(member)
  return 1
elseif op == "stock" then
  -- Counts read from an older copy than the last ones given are ignored.
  local version = tonumber(ARGV[9])
  for i = 10, #ARGV - 1, 2 do
    if tonumber(redis.call("HGET", P .. "vstockv", ARGV[i]) or "-1") <= version then
      redis.call("HSET", P .. "vstockv", ARGV[i], version)
      if tonumber(ARGV[i + 1]) < 0 then
        redis.call("HDEL", P .. "vstock", ARGV[i])
      else
        redis.call("HSET", P .. "vstock", ARGV[i], ARGV[i + 1])
      end
    end
  end
  return 1
elseif op == "close" then
  redis.call("SADD", P .. "closed", ARGV[9])
  return 1
elseif op == "reopen" then
  redis.call("SREM", P .. "closed", ARGV[9])
  return 1
elseif op == "show" then
  advance()
  local found = {}
  for _, q in ipairs(redis.call("ZRANGE", P .. "turns", 0, -1)) do
    table.insert(found, {q, redis.call("ZCARD", P .. "q:" .. q), opens(q), closed(q) and 1 or 0,
      tonumber(redis.call("GET", P .. "admitted:" .. q) or "0")})
  end
  return found
end
return redis.error_reply("unknown op " .. op)
"""


@dataclass(frozen=True)
class Rules:
    """How fast turns come and how long places and passes last (milliseconds)."""

    interval_ms: float  # between two admissions; 0: no limit
    burst: int = 1  # admissions that may go at once after a quiet spell
    holding: bool = False  # no admissions now (checkouts' calls are backed up)
    away_ms: float = 180_000
    pass_ms: float = 120_000


@dataclass(frozen=True)
class Place:
    state: str  # "admitted", "waiting", "closed" (what it waits for is sold out), "none", "full"
    position: int = 0
    wait_seconds: float = 0.0
    queue: str = ""
    turn: int = 0  # admitted: the how-manieth of its queue's admissions

    @property
    def admitted(self) -> bool:
        return self.state == "admitted"


@dataclass(frozen=True)
class QueueView:
    queue: str
    waiting: int
    opens_at: float  # epoch seconds, 0: open
    closed: bool
    admitted: int


class Room:
    """The waiting room in one Redis (or fakeredis) server, on ``clock`` (epoch seconds)."""

    def __init__(self, client: Any, prefix: str, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._prefix = prefix + "{room}:"
        self.clock = clock

    def _run(self, op: str, rules: Rules, member: str = "", *extra: Any) -> Any:
        tolerance = max(0, rules.burst - 1) * rules.interval_ms
        args = [op, int(self.clock() * 1000), rules.interval_ms, tolerance]
        args += [rules.away_ms, int(rules.pass_ms), member, int(rules.holding), *extra]
        return run_script(self._client, SCRIPT, [self._prefix], args)

    def enter(
        self,
        member: str,
        queue: str,
        rules: Rules,
        *,
        address: str,
        cap: int,
        opens_at: float = 0.0,
        wants: Mapping[str, int] | None = None,
    ) -> Place:
        """Take a place (or a pass straight away); a member with one keeps it. Before
        ``opens_at`` a place's rank is drawn at random, ahead of every later arrival."""
        rank = secrets.randbelow(1_000_000) / 1_000_000 if opens_at > self.clock() else -1
        opens_ms = int(opens_at * 1000)
        want = ",".join(f"{v}:{n}" for v, n in (wants or {}).items())
        found = self._run("enter", rules, member, queue, address, cap, rank, opens_ms, want)
        return _place(found)

    def status(self, member: str, rules: Rules) -> Place:
        """Where ``member`` stands (after handing out the turns due), and that they looked."""
        return _place(self._run("status", rules, member))

    def use_pass(self, member: str) -> bool:
        """Spend ``member``'s pass: whether there was one."""
        return bool(self._run("use", Rules(0), member))

    def leave(self, member: str) -> None:
        self._run("leave", Rules(0), member)

    def set_stock(self, left: Mapping[str, int | None], version: float) -> None:
        """What each variant can still sell (None: no count), as the catalog copy of
        ``version`` has it (an older copy's counts never replace a newer's). A buyer is
        admitted only while some of what they want is not claimed by those admitted."""
        pairs = [x for v, n in left.items() for x in (v, -1 if n is None else n)]
        if pairs:
            self._run("stock", Rules(0), "", version, *pairs)

    def close(self, queue: str) -> None:
        """What ``queue`` waits for is sold out: no turns for it until ``reopen``."""
        self._run("close", Rules(0), "", queue)

    def reopen(self, queue: str) -> None:
        self._run("reopen", Rules(0), "", queue)

    def show(self, rules: Rules) -> list[QueueView]:
        return [
            QueueView(_text(q), int(n), int(opens) / 1000, bool(closed), int(admitted))
            for q, n, opens, closed, admitted in self._run("show", rules)
        ]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _place(found: list[Any]) -> Place:
    state = _text(found[0])
    if state in ("waiting", "closed"):
        return Place(state, int(found[1]), int(found[2]) / 1000, _text(found[3]))
    if state == "admitted":
        return Place(state, turn=int(found[1]))
    return Place(state)


_local: list[Any] = []
_local_lock = threading.Lock()


def local_client() -> Any:
    """An in-process server for deployments without Redis (one process: the demo)."""
    with _local_lock:
        if not _local:
            import fakeredis

            _local.append(fakeredis.FakeRedis(server=fakeredis.FakeServer()))
        return _local[0]


def reset_local() -> None:
    """Tests: the in-process server as new (a shared Redis is cleared with the cache)."""
    with _local_lock:
        if _local:
            _local[0].flushall()
