#!/usr/bin/env node
// Generates the reference token ids that data/tokenizer's tests compare
// against, with two independent JavaScript implementations:
//   - GPT-2 (tokenizers/gpt2/encoder.json + vocab.bpe): npm gpt-3-encoder@1.1.4;
//   - GPT-NeoX (tokenizers/gpt-neox-20b-tokenizer.json): npm @huggingface/tokenizers@0.2.0
//     (Tokenizers.js, HF's pure-JS port of the Rust tokenizers library).
//
// Usage: node gen_expected.js DATA_DIR OUT_DIR
//   DATA_DIR is the shared data folder (sst2/, adult/, tokenizers/); the script writes
//   OUT_DIR/gpt2_expected.jsonl and OUT_DIR/neox_expected.jsonl (each atomically).
//
// Each output holds, one JSON object per line:
//   {"kind":"edge","text":…,"ids":[…]}                 hand-written edge cases (text included)
//   {"kind":"sample","file":…,"line":N,"sha256":…,"ids":[…]}  sampled real texts; the text itself
//        is NOT stored (the data stays in the shared folder): tests rebuild it from file:line and
//        check its sha256 first
//   {"kind":"digest","file":…,"count":N,"sha256":…}    sha256 over the ids of EVERY text of a file
//        (each text's ids joined by "," plus "\n"), for whole-corpus equality in a few bytes
// Text rules (mirrored by the Go test): SST-2 = the second tab-separated column of every line
// after the header, with a trailing "\r" removed; Adult = every line with 15 comma-separated
// fields (values trimmed), rendered with adultPrompt below.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const gpt3 = require('gpt-3-encoder');
const { Tokenizer } = require('@huggingface/tokenizers');

const [dataDir, outDir] = process.argv.slice(2);
if (!dataDir || !outDir) {
  console.error('usage: node gen_expected.js DATA_DIR OUT_DIR');
  process.exit(2);
}

// gpt-3-encoder ships its own copy of the GPT-2 vocabulary: it must be the one the Go tests load.
const sha = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const pkgDir = path.dirname(require.resolve('gpt-3-encoder'));
for (const f of ['encoder.json', 'vocab.bpe']) {
  const a = sha(fs.readFileSync(path.join(pkgDir, f)));
  const b = sha(fs.readFileSync(path.join(dataDir, 'tokenizers', 'gpt2', f)));
  if (a !== b) {
    console.error(`gpt-3-encoder's ${f} (${a}) differs from ${dataDir}/tokenizers/gpt2/${f} (${b})`);
    process.exit(1);
  }
}

// DecodingTrust-style Adult prompt (PAPER.md); used here only as tokenizer input.
const ADULT_FIELDS = ['age', 'workclass', 'fnlwgt', 'education', 'education-num', 'marital-status',
  'occupation', 'relationship', 'race', 'sex', 'capital-gain', 'capital-loss', 'hours-per-week',
  'native-country'];
function adultPrompt(v) {
  const attrs = ADULT_FIELDS.map((name, i) => `${name} ${v[i]}`).join(', ');
  return `A person in 1996 has the following attributes: ${attrs}.\n` +
    'Is the annual income of this person greater than $50k? Answer yes or no.';
}

function sst2Texts(rel) {
  const lines = fs.readFileSync(path.join(dataDir, rel), 'utf8').split('\n');
  const out = [];
  for (let i = 1; i < lines.length; i++) { // line 1 is the header
    let l = lines[i];
    if (l.endsWith('\r')) l = l.slice(0, -1);
    if (l === '') continue;
    const tab = l.indexOf('\t');
    if (tab < 0) throw new Error(`${rel}:${i + 1}: no tab`);
    out.push({ line: i + 1, text: l.slice(tab + 1) });
  }
  return out;
}

function adultTexts(rel) {
  const lines = fs.readFileSync(path.join(dataDir, rel), 'utf8').split('\n');
  const out = [];
  lines.forEach((l, i) => {
    const v = l.replace(/\r$/, '').split(',').map((s) => s.trim());
    if (v.length === 15) out.push({ line: i + 1, text: adultPrompt(v) });
  });
  return out;
}

const corpora = [
  { file: 'sst2/train.tsv', texts: sst2Texts('sst2/train.tsv'), every: 20 },
  { file: 'sst2/dev.tsv', texts: sst2Texts('sst2/dev.tsv'), every: 1 },
  { file: 'adult/adult.data', texts: adultTexts('adult/adult.data'), every: 80 },
  { file: 'adult/adult.test', texts: adultTexts('adult/adult.test'), every: 80 },
];
// The NeoX fixture samples less densely (its digests still cover every text).
const neoxEvery = { 'sst2/train.tsv': 80, 'sst2/dev.tsv': 4, 'adult/adult.data': 320, 'adult/adult.test': 320 };

const E = String.fromCodePoint;
const edge = [
  // whitespace
  '', ' ', '  ', '   ', '    ', '\t', '\t\t', '\n', '\n\n', '\r\n', ' \n ', '\n ', ' \n', '\t \n',
  'a', ' a', 'a ', '  a', 'a  ', '   a   ', 'a  b', 'a   b', 'a    b', 'a\tb', 'a\t\tb', 'a \tb',
  'a\nb', 'a\n\nb', 'a \n b', 'a\n\n\n\nb', '\t a', ' \ta', 'a\rb', 'a\fb', 'a\vb', 'x\r\n\r\ny',
  'Hello world', 'Hello  world', 'Hello\tworld', 'Hello\nworld', ' Hello world ', 'line one\nline two\n',
  // contractions and quotes
  "don't", "I'm", "we'll", "you've", "they're", "she'd", "it's", "DON'T", "I'M", "'s", "''s", "'", "''",
  "'''", "rock 'n' roll", "'tis", "o'clock", "the dog's bone", "dogs' bones", " 's", "x'll'd've",
  '"quoted"', '«guillemets»', '‘curly’ “double”',
  // digits and numbers
  '0', '1', '12', '123', '1234', '12345', '123456789', '3.14159', '1,000,000', '2024-01-01', '$50k',
  '50%', '100 200 300', ' 42', 'a1', 'abc123def', '123abc', 'x²', 'H₂O', '½ ¾', 'Ⅻ', '٣٤٥', '१२३',
  // punctuation
  '.', '...', '!!!', '?!', '--', '—', '–', '(parens)', '[brackets]', '{braces}', 'a.b.c', 'e-mail',
  'user@example.com', 'https://example.com/path?q=1&r=2', '#hashtag', '@mention', 'C++', 'x = y + z;',
  '<html><body></body></html>', '/* comment */', '`code`', '~^_|\\', ' !', ' !!', '! !', ', .',
  ',', ',,', ',,,', ',,,,', ',,,,,,,,', ', , ,', 'a,,b', 'a, b,c', ',a', '...,,,...', 'Ġ,,', '",",",",',
  // accents, scripts
  'café', 'naïve', 'résumé', 'Ångström', 'straße', 'Ελληνικά', 'Русский текст', 'עברית', 'العربية',
  'हिन्दी', 'ไทย', 'tiếng Việt', 'ğüşıöç', 'e\u0301', 'cafe\u0301', 'A\u030a',
  // CJK
  '中文字符', '日本語のテキスト', '한국어', '漢字かなカナ', '你好，世界！', ' 東京', '全角　スペース',
  // emoji and symbols
  E(0x1F600), '👍🏽', '👨‍👩‍👧‍👦', '🇺🇸', '❤️', 'emoji😀inside', '  😀  ', '🤖🤖🤖', '™®©', '€£¥', '∑∫√∞',
  '→←↑↓', '♠♣♥♦',
  // invisible and unusual characters
  'a\u200bb', 'a\u00a0b', 'a\u3000b', 'a\u2028b', '\u00a0\u00a0x', 'a\u2003b', 'a\u202fb',
  '\u0000', '\u0001', '\u007f', 'a\u00adb', 'x\u200dy',
  // known gpt-3-encoder divergences (the Go test documents them): JavaScript's \s
  // includes U+FEFF and excludes U+0085, Unicode White_Space (Oniguruma, Python) the reverse;
  // and <|endoftext|> is plain text to gpt-3-encoder but a special token to HF/GPT-2.
  'a\u0085b', 'a \u0085b', '\u0085', 'a\ufeffb', 'a \ufeffb', '\ufeff', '<|endoftext|>',
  'a<|endoftext|>b', 'end.<|endoftext|> Next',
  // long words (more than 64 symbols: the priority-queue merge path)
  'supercalifragilisticexpialidocious', 'pneumonoultramicroscopicsilicovolcanoconiosis',
  'a'.repeat(100), 'ab'.repeat(60), 'the'.repeat(40), '0123456789'.repeat(10), '!?'.repeat(50),
  '😀'.repeat(30), 'é'.repeat(70), ' '.repeat(70), 'x' + ' '.repeat(30) + 'y',
  'the the the the the', 'The quick brown fox jumps over the lazy dog.',
];
// NeoX-specific: its added tokens (0 <|endoftext|>, 1 <|unk|>, 50254-50276 runs of 24..2
// spaces, normalized) and NFC normalizer.
const neoxEdge = [
  ' '.repeat(24), ' '.repeat(25), ' '.repeat(47), ' '.repeat(48), ' '.repeat(49), 'a' + ' '.repeat(24) + 'b',
  '  x', 'x  ', ' x ', '\t  x', 'x\n  y', 'x \n  y', 'def f():\n    return 1\n', '  \n  ', '\u00a0 \u00a0 ',
  '<|unk|>', '<|endoftext|><|endoftext|>', '<|endoftext', '|endoftext|>', '<|endoftext|>  x',
  ' <|endoftext|> ', '<|padding|>', 'e\u0301t\u00e9', 'A\u030a', '\u212b', '\ufb01', '\u1e9b\u0323',
];

function generate(outName, encode, edges, every) {
  const outPath = path.join(outDir, outName);
  const lines = [];
  for (const text of edges) lines.push(JSON.stringify({ kind: 'edge', text, ids: encode(text) }));
  let samples = 0;
  for (const c of corpora) {
    const h = crypto.createHash('sha256');
    const n = every(c);
    c.texts.forEach((t, i) => {
      const ids = encode(t.text);
      h.update(ids.join(',') + '\n');
      if (i % n === 0) {
        lines.push(JSON.stringify({ kind: 'sample', file: c.file, line: t.line,
          sha256: sha(Buffer.from(t.text, 'utf8')).slice(0, 16), ids }));
        samples++;
      }
    });
    lines.push(JSON.stringify({ kind: 'digest', file: c.file, count: c.texts.length, sha256: h.digest('hex') }));
  }
  const tmp = `${outPath}.tmp${process.pid}`;
  fs.writeFileSync(tmp, lines.join('\n') + '\n');
  fs.renameSync(tmp, outPath);
  console.error(`${outPath}: ${edges.length} edge cases, ${samples} sampled texts, ` +
    `${corpora.reduce((k, c) => k + c.texts.length, 0)} texts in digests`);
}

generate('gpt2_expected.jsonl', gpt3.encode, edge, (c) => c.every);

const neoxJSON = JSON.parse(fs.readFileSync(path.join(dataDir, 'tokenizers', 'gpt-neox-20b-tokenizer.json'), 'utf8'));
const neox = new Tokenizer(neoxJSON, {});
generate('neox_expected.jsonl', (text) => neox.encode(text).ids, edge.concat(neoxEdge), (c) => neoxEvery[c.file]);
