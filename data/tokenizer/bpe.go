package tokenizer

import (
	"strings"
	"sync"
)

// merge is the result of merging one adjacent pair of symbols.
type merge struct {
	rank int32 // priority: lower merges first (the line order of the merges list)
	id   int32 // id of the merged token
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// bpe is a byte-level BPE model: a vocabulary over byte-level strings and a
// ranked list of merges, applied to the bytes of one pre-token at a time.
type bpe struct {
	vocab        map[string]int32 // byte-level token string -> id
	merges       map[uint64]merge // (left id, right id) -> merge
	byteID       [256]int32       // id of each single byte's token, or -1 when absent
	unk          int32            // id of the unknown token, or -1
	fuseUnk      bool
	ignoreMerges bool // a pre-token that is itself in the vocabulary maps to that id
	bl           *byteLevel
	cache        *wordCache
}

// heapThreshold is the symbol count above which a word is merged with a
// priority queue (O(n log n)) instead of the quadratic rank scan.
const heapThreshold = 64

// localCacheSize bounds each encoding goroutine's private cache, which spares
// the shared cache's locks for frequent words.
const localCacheSize = 4096

// appendWord appends the ids of one pre-token (raw bytes) to dst. local, when
// not nil, is the calling goroutine's private cache in front of the shared one.
func (m *bpe) appendWord(dst []int32, word string, local map[string][]int32) []int32 {
	if ids, ok := local[word]; ok {
		return append(dst, ids...)
	}
	if ids, ok := m.cache.get(word); ok {
		if local != nil && len(local) < localCacheSize {
			local[strings.Clone(word)] = ids // a clone: word points into the caller's text
		}
		return append(dst, ids...)
	}
	var ids []int32
	if m.ignoreMerges {
		if id, ok := m.vocab[m.bl.encode(word)]; ok {
			ids = []int32{id}
		}
	}
	if ids == nil {
		syms := make([]int32, 0, len(word))
		prevUnk := false
		for i := 0; i < len(word); i++ {
			id := m.byteID[word[i]]
			if id < 0 {
				// HF BPE: an unknown symbol becomes unk_token (fused when
				// fuse_unk) or, without unk_token, is dropped.
				if m.unk < 0 || (m.fuseUnk && prevUnk) {
					continue
				}
				id = m.unk
				prevUnk = true
			} else {
				prevUnk = false
			}
			syms = append(syms, id)
		}
		if len(syms) > heapThreshold {
			ids = m.mergeHeap(syms)
		} else {
			ids = m.mergeScan(syms)
		}
	}
	ids = m.cache.put(word, ids)
	if local != nil && len(local) < localCacheSize && len(word) <= cacheMaxWord {
		local[strings.Clone(word)] = ids
	}
	return append(dst, ids...)
}

// mergeScan is GPT-2's reference algorithm: repeatedly find the adjacent pair
// with the lowest merge rank and merge every occurrence of it, left to right.
// Pair ranks are kept in an array and looked up again only next to a merge.
// It works in place on syms and returns the merged prefix.
func (m *bpe) mergeScan(syms []int32) []int32 {
	n := len(syms)
	if n < 2 {
		return syms
	}
	var rbuf, nbuf [heapThreshold]merge
	var sbuf [heapThreshold]int
	ranks, next, src := rbuf[:0], nbuf[:0], sbuf[:0]
	if n > heapThreshold {
		ranks, next, src = make([]merge, 0, n), make([]merge, 0, n), make([]int, 0, n)
	}
	lookup := func(a, b int32) merge {
		if mg, ok := m.merges[pairKey(a, b)]; ok {
			return mg
		}
		return merge{rank: -1}
	}
	for i := 0; i+1 < n; i++ {
		ranks = append(ranks, lookup(syms[i], syms[i+1]))
	}
	for len(syms) > 1 {
		best := -1
		for i, r := range ranks {
			if r.rank >= 0 && (best < 0 || r.rank < ranks[best].rank) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		bl, br, id := syms[best], syms[best+1], ranks[best].id
		// Rewrite syms from best on; src[w] is the old index a symbol was
		// copied from, or -1 for a merged one.
		src = src[:0]
		for i := 0; i < best; i++ {
			src = append(src, i)
		}
		w := best
		for i := best; i < len(syms); w++ {
			if i+1 < len(syms) && syms[i] == bl && syms[i+1] == br {
				syms[w] = id
				src = append(src, -1)
				i += 2
			} else {
				syms[w] = syms[i]
				src = append(src, i)
				i++
			}
		}
		syms = syms[:w]
		next = next[:0]
		for k := 0; k+1 < w; k++ {
			if src[k] >= 0 && src[k+1] == src[k]+1 {
				next = append(next, ranks[src[k]])
			} else {
				next = append(next, lookup(syms[k], syms[k+1]))
			}
		}
		ranks, next = next, ranks
	}
	return syms
}

// mergeHeap gives the same result as mergeScan with a priority queue of
// candidate merges ordered by (rank, position), as HF tokenizers does.
func (m *bpe) mergeHeap(syms []int32) []int32 {
	n := len(syms)
	prev := make([]int32, n)
	next := make([]int32, n) // -1 ends the list; a merged-away symbol has alive false
	alive := make([]bool, n)
	for i := range syms {
		prev[i], next[i], alive[i] = int32(i-1), int32(i+1), true
	}
	next[n-1] = -1
	q := mergeQueue(make([]candidate, 0, n))
	push := func(pos int32) {
		if pos < 0 || next[pos] < 0 {
			return
		}
		if mg, ok := m.merges[pairKey(syms[pos], syms[next[pos]])]; ok {
			q.push(candidate{rank: mg.rank, pos: pos, left: syms[pos], right: syms[next[pos]], id: mg.id})
		}
	}
	for i := int32(0); int(i)+1 < n; i++ {
		push(i)
	}
	for len(q) > 0 {
		c := q.pop()
		r := next[c.pos]
		if !alive[c.pos] || r < 0 || syms[c.pos] != c.left || syms[r] != c.right {
			continue // stale: one side was merged away since this was queued
		}
		syms[c.pos] = c.id
		alive[r] = false
		next[c.pos] = next[r]
		if next[r] >= 0 {
			prev[next[r]] = c.pos
		}
		push(prev[c.pos])
		push(c.pos)
	}
	out := syms[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}

type candidate struct {
	rank, pos   int32
	left, right int32
	id          int32
}

// mergeQueue is a binary min-heap of candidates ordered by (rank, pos).
type mergeQueue []candidate

func (c candidate) less(d candidate) bool {
	return c.rank < d.rank || (c.rank == d.rank && c.pos < d.pos)
}

func (q *mergeQueue) push(c candidate) {
	h := append(*q, c)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h[i].less(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*q = h
}

func (q *mergeQueue) pop() candidate {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, small := 2*i+1, i
		if l < len(h) && h[l].less(h[small]) {
			small = l
		}
		if r := l + 1; r < len(h) && h[r].less(h[small]) {
			small = r
		}
		if small == i {
			break
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
	*q = h
	return top
}

// wordCache is a bounded, sharded, concurrency-safe cache from pre-token to
// ids. When a shard is full new words are not cached (as in HF tokenizers),
// so the cache never grows past its capacity.
type wordCache struct {
	shards   [cacheShards]cacheShard
	perShard int
}

const (
	cacheShards  = 32
	cacheMaxWord = 256 // longer pre-tokens are not cached
)

type cacheShard struct {
	mu sync.RWMutex
	m  map[string][]int32
}

// newWordCache returns a cache holding up to capacity words; 0 disables it.
func newWordCache(capacity int) *wordCache {
	c := &wordCache{perShard: (capacity + cacheShards - 1) / cacheShards}
	for i := range c.shards {
		c.shards[i].m = make(map[string][]int32)
	}
	return c
}

func shardOf(word string) int {
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(word); i++ {
		h = (h ^ uint32(word[i])) * 16777619
	}
	return int(h % cacheShards)
}

func (c *wordCache) get(word string) ([]int32, bool) {
	if c.perShard == 0 || len(word) > cacheMaxWord {
		return nil, false
	}
	s := &c.shards[shardOf(word)]
	s.mu.RLock()
	ids, ok := s.m[word]
	s.mu.RUnlock()
	return ids, ok
}

// put caches a copy of ids for word when there is room and returns the copy
// (immutable from then on) or ids itself.
func (c *wordCache) put(word string, ids []int32) []int32 {
	if c.perShard == 0 || len(word) > cacheMaxWord {
		return ids
	}
	own := append([]int32(nil), ids...)
	s := &c.shards[shardOf(word)]
	s.mu.Lock()
	if len(s.m) < c.perShard {
		s.m[strings.Clone(word)] = own // not pinning the caller's text
	}
	s.mu.Unlock()
	return own
}

// size returns the number of cached words.
func (c *wordCache) size() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
