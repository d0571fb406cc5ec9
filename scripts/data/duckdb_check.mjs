// Interop check for w2st Parquet files with an independent reader/writer,
// DuckDB (npm @duckdb/node-api, pinned in package.json; `npm ci` here).
//
//   node duckdb_check.mjs read FILE   prints JSON: schema and aggregates of FILE
//   node duckdb_check.mjs write FILE  writes a w2st-schema Parquet file with DuckDB
//
// Used by data/parquetio's TestDuckDB (skipped when node or the package is absent).
import { DuckDBInstance } from '@duckdb/node-api';

const [mode, file] = process.argv.slice(2);
if (!mode || !file) {
  console.error('usage: node duckdb_check.mjs read|write FILE');
  process.exit(2);
}
const q = (s) => "'" + s.replaceAll("'", "''") + "'";
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const all = async (sql) => (await conn.runAndReadAll(sql)).getRowObjectsJson();

if (mode === 'read') {
  const src = `read_parquet(${q(file)})`;
  const schema = await all(`DESCRIBE SELECT * FROM ${src}`);
  const [agg] = await all(`SELECT count(*)::BIGINT AS rows,
      count(DISTINCT id)::BIGINT AS distinct_ids,
      sum(label)::BIGINT AS label_sum,
      sum(length(text))::BIGINT AS text_chars,
      sum(coalesce(len(input_ids), 0))::BIGINT AS input_ids_count,
      sum(coalesce(list_sum(input_ids), 0))::BIGINT AS input_ids_sum,
      sum(coalesce(length, 0))::BIGINT AS length_sum,
      sum(coalesce(list_sum(soft_label), 0))::DOUBLE AS soft_label_sum,
      count("group")::BIGINT AS groups_non_null,
      count(*) FILTER (WHERE synthetic)::BIGINT AS synthetic_rows
    FROM ${src}`);
  const first = await all(`SELECT id, text, label, "group", input_ids FROM ${src} ORDER BY id LIMIT 1`);
  console.log(JSON.stringify({
    columns: Object.fromEntries(schema.map((c) => [c.column_name, c.column_type])),
    ...agg,
    first: first[0],
  }));
} else if (mode === 'write') {
  await conn.run(`COPY (
      SELECT 'duck-' || lpad(i::VARCHAR, 3, '0') AS id,
             'DuckDB row ' || i::VARCHAR || ' — ünïcode' AS text,
             (i % 2)::INTEGER AS label,
             CASE WHEN i % 3 = 0 THEN NULL ELSE [0.25::FLOAT, 0.75::FLOAT] END AS soft_label,
             CASE WHEN i % 2 = 0 THEN 'Female' ELSE 'Male' END AS "group",
             NULL::VARCHAR AS domain,
             'train' AS split,
             list_transform(range(1 + i % 4), x -> (x + i)::INTEGER) AS input_ids,
             (1 + i % 4)::INTEGER AS length,
             (i % 5 = 0) AS synthetic
      FROM range(0, 50) t(i)
    ) TO ${q(file)} (FORMAT parquet)`);
  console.log(JSON.stringify({ written: file }));
} else {
  console.error('unknown mode ' + mode);
  process.exit(2);
}
