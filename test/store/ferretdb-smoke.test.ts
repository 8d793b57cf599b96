// Smoke test of a MongoDB-wire-compatible server (FerretDB 1.24 on SQLite in CI, see
// docs/ferretdb.md) for the features the MongoDB store adapter relies on.
//
//   scripts/test-mongo.sh test/store/ferretdb-smoke.test.ts      (builds + starts FerretDB)
//   MONGODB_URI=mongodb://127.0.0.1:27017/ node scripts/run-tests.mjs test/store/ferretdb-smoke.test.ts
//
// Without MONGODB_URI the file is skipped. Hard requirements (CRUD, unique index + 11000,
// $elemMatch over arrays of subdocuments, $in, two-key sort, upsert, counts) fail the test;
// the rest (index use in explain, aggregation stages, transactions) is only reported.
// The capability report is printed to stderr at the end and written to
// $FERRETDB_REPORT when that is set.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { MongoClient, MongoServerError, type Db, type Document } from 'mongodb';

const uri = process.env.MONGODB_URI;

type Status = 'ok' | 'FAIL' | 'unsupported' | 'info';
interface Entry {
  feature: string;
  status: Status;
  detail: string;
}
const report: Entry[] = [];
const note = (feature: string, status: Status, detail = ''): void => {
  report.push({ feature, status, detail });
};

/** Compact description of a driver/server error. */
function describeError(e: unknown): string {
  if (e instanceof MongoServerError) {
    const labels = e.errorLabels?.length ? ` labels=${JSON.stringify(e.errorLabels)}` : '';
    return `${e.name} code=${String(e.code)} codeName=${String(e.codeName)} "${e.message}"${labels}`;
  }
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return `${e.name}${code !== undefined ? ` code=${String(code)}` : ''} "${e.message}"`;
  }
  return String(e);
}

/** Short one-line JSON, cut to `max` characters. */
function brief(v: unknown, max = 300): string {
  const s = JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > max ? `${s.slice(0, max)}...` : s;
}

if (!uri) {
  console.error('# ferretdb-smoke: MONGODB_URI is not set; skipped (run scripts/test-mongo.sh)');
  t.plan(0, 'MONGODB_URI is not set');
} else {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  const dbName = `ccm_smoke_${process.pid}_${Date.now()}`;
  let db: Db;

  t.before(async () => {
    await client.connect();
    db = client.db(dbName);
  });

  t.teardown(async () => {
    try {
      await db?.dropDatabase();
    } finally {
      await client.close();
    }
    const width = Math.max(...report.map((r) => r.feature.length));
    const lines = [
      `capability report for ${uri.replace(/\/\/[^@/]*@/, '//***@')}`,
      ...report.map((r) => `  ${r.feature.padEnd(width)}  ${r.status.padEnd(11)}  ${r.detail}`),
    ];
    console.error(lines.map((l) => `# ${l}`).join('\n'));
    if (process.env.FERRETDB_REPORT) writeFileSync(process.env.FERRETDB_REPORT, `${lines.join('\n')}\n`);
  });

  t.test('hello and buildInfo', async (t) => {
    const admin = client.db('admin');
    const hello = await admin.command({ hello: 1 });
    const build = await admin.command({ buildInfo: 1 });
    t.equal(hello.ok, 1, 'hello ok');
    t.ok(hello.isWritablePrimary, 'isWritablePrimary');
    note(
      'hello',
      'info',
      `isWritablePrimary=${String(hello.isWritablePrimary)} minWireVersion=${String(hello.minWireVersion)} ` +
        `maxWireVersion=${String(hello.maxWireVersion)} setName=${String(hello.setName ?? '-')} ` +
        `logicalSessionTimeoutMinutes=${String(hello.logicalSessionTimeoutMinutes ?? '-')} ` +
        `maxBsonObjectSize=${String(hello.maxBsonObjectSize)} maxWriteBatchSize=${String(hello.maxWriteBatchSize)}`,
    );
    note(
      'buildInfo',
      'info',
      `version=${String(build.version)} versionArray=${brief(build.versionArray)} ` +
        `ferretdbVersion=${String(build.ferretdbVersion ?? '-')}` +
        (Array.isArray(build.ferretdbFeatures?.aggregationStages)
          ? ` ferretdbFeatures.aggregationStages=${[...(build.ferretdbFeatures.aggregationStages as string[])].sort().join(',')}`
          : ''),
    );
  });

  t.test('insert, find, replace with filter', async (t) => {
    const c = db.collection('resources');
    const doc = { _id: 'Patient/p1', type: 'Patient', id: 'p1', meta: { versionId: '1' }, name: [{ family: 'Doe' }] };
    await c.insertOne(doc as Document);
    const found = await c.findOne({ type: 'Patient', id: 'p1' });
    t.same(found, doc, 'findOne returns the inserted document');
    const r1 = await c.replaceOne(
      { _id: 'Patient/p1', 'meta.versionId': '1' } as Document,
      { ...doc, meta: { versionId: '2' }, name: [{ family: 'Roe' }] },
    );
    t.equal(r1.matchedCount, 1, 'replace with matching version filter matches');
    t.equal(r1.modifiedCount, 1, 'and modifies');
    const stale = await c.replaceOne(
      { _id: 'Patient/p1', 'meta.versionId': '1' } as Document,
      { ...doc, meta: { versionId: '3' } },
    );
    t.equal(stale.matchedCount, 0, 'replace with stale version filter matches nothing');
    const after = await c.findOne({ _id: 'Patient/p1' } as Document, { projection: { 'meta.versionId': 1, _id: 0 } });
    t.same(after, { meta: { versionId: '2' } }, 'projection on a dotted path');
    const del = await c.deleteOne({ _id: 'Patient/p1' } as Document);
    t.equal(del.deletedCount, 1, 'deleteOne');
    note('insert/find/replace(filter)/delete', t.passing() ? 'ok' : 'FAIL', 'optimistic replace on meta.versionId');
  });

  t.test('unique index and duplicate key error 11000', async (t) => {
    const c = db.collection('uniq');
    const name = await c.createIndex({ type: 1, id: 1 }, { unique: true, name: 'type_id_unique' });
    t.equal(name, 'type_id_unique', 'createIndex returns the name');
    await c.insertOne({ type: 'Patient', id: 'a' });
    let err: unknown;
    try {
      await c.insertOne({ type: 'Patient', id: 'a' });
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof MongoServerError, 'duplicate insert throws MongoServerError');
    t.equal((err as MongoServerError | undefined)?.code, 11000, 'code 11000');
    let bulkErr: unknown;
    try {
      await c.insertMany(
        [
          { type: 'Patient', id: 'b' },
          { type: 'Patient', id: 'a' },
          { type: 'Patient', id: 'c' },
        ],
        { ordered: false },
      );
    } catch (e) {
      bulkErr = e;
    }
    const writeErrors = (bulkErr as { writeErrors?: { code: number }[] } | undefined)?.writeErrors;
    const bulkCodes = Array.isArray(writeErrors) ? writeErrors.map((w) => w.code) : [];
    t.same(bulkCodes, [11000], 'unordered insertMany reports one 11000 write error');
    t.equal(await c.countDocuments({}), 3, 'the other documents of the unordered batch are inserted');
    // upsert racing into a unique key must also give 11000
    let upsertErr: unknown;
    try {
      await c.updateOne({ type: 'Patient', id: 'zz' }, { $set: { id: 'a' } }, { upsert: true });
    } catch (e) {
      upsertErr = e;
    }
    t.equal((upsertErr as MongoServerError | undefined)?.code, 11000, 'upsert into an existing unique key: 11000');
    note('unique index + dup key', t.passing() ? 'ok' : 'FAIL', describeError(err));
  });

  t.test('compound multikey index on arrays of subdocuments, $elemMatch, explain', async (t) => {
    const c = db.collection('search');
    // 1. the index itself (hard requirement: createIndex must accept it)
    try {
      await c.createIndex({ type: 1, 'idx.ref.p': 1, 'idx.ref.r': 1 }, { name: 'type_ref' });
      await c.createIndex({ type: 1, keys: 1 }, { name: 'type_keys' });
      const idx = await c.listIndexes().toArray();
      t.ok(idx.some((i) => i.name === 'type_ref'), 'compound multikey index created');
      note('compound multikey createIndex', 'ok', `listIndexes=${brief(idx.map((i) => i.key))}`);
    } catch (e) {
      note('compound multikey createIndex', 'FAIL', describeError(e));
      t.fail(`createIndex: ${describeError(e)}`);
    }

    const docs: Document[] = [];
    for (let i = 0; i < 200; i++) {
      const subject = `Patient/${i % 10}`;
      const performer = `Practitioner/${i % 3}`;
      docs.push({
        type: i % 2 ? 'Observation' : 'Condition',
        id: `r${i}`,
        idx: [{ ref: { p: 'subject', r: subject } }, { ref: { p: 'performer', r: performer } }],
        // the same information as composite string keys (one multikey string array)
        keys: [`subject|${subject}`, `performer|${performer}`],
        n: [i % 7, 100 + (i % 5)],
      });
    }
    // decoy: p and r match in *different* array elements -> must not match $elemMatch
    docs.push({
      type: 'Observation',
      id: 'decoy',
      idx: [{ ref: { p: 'subject', r: 'Practitioner/x' } }, { ref: { p: 'performer', r: 'Patient/1' } }],
      keys: ['subject|Practitioner/x', 'performer|Patient/1'],
      n: [3, 12],
    });
    await c.insertMany(docs);
    const isObs1 = (d: Document): boolean => d.type === 'Observation' && d.keys[0] === 'subject|Patient/1';
    const expected = docs.filter(isObs1).length; // 10

    // 2. $elemMatch with dotted field conditions on subdocuments (the natural MongoDB way)
    const elemFilter = { type: 'Observation', idx: { $elemMatch: { 'ref.p': 'subject', 'ref.r': 'Patient/1' } } };
    try {
      const hits = await c.find(elemFilter, { projection: { id: 1, _id: 0 } }).toArray();
      const decoy = hits.some((h) => h.id === 'decoy');
      const ok = hits.length === expected && !decoy;
      note('$elemMatch {ref.p, ref.r} on subdocs', ok ? 'ok' : 'FAIL', `${hits.length} hits (expected ${expected})${decoy ? ', DECOY MATCHED' : ''}`);
    } catch (e) {
      note('$elemMatch {ref.p, ref.r} on subdocs', 'unsupported', describeError(e));
    }
    // 2b. $elemMatch with top-level fields of the element
    try {
      const n = await c.countDocuments({ type: 'Observation', idx: { $elemMatch: { ref: { p: 'subject', r: 'Patient/1' } } } });
      note('$elemMatch {ref: {...}} (whole subdoc)', n === expected ? 'ok' : 'FAIL', `count=${n} (expected ${expected})`);
    } catch (e) {
      note('$elemMatch {ref: {...}} (whole subdoc)', 'unsupported', describeError(e));
    }
    // 2c. array element equal to a whole subdocument (no $elemMatch)
    try {
      const n = await c.countDocuments({ type: 'Observation', idx: { ref: { p: 'subject', r: 'Patient/1' } } });
      note('array contains subdoc (equality)', n === expected ? 'ok' : 'FAIL', `count=${n} (expected ${expected})`);
    } catch (e) {
      note('array contains subdoc (equality)', 'unsupported', describeError(e));
    }
    // 2d. $elemMatch with operators on a scalar array: one element must satisfy both
    try {
      const ids = (await c.find({ id: 'decoy', n: { $elemMatch: { $gte: 5, $lt: 10 } } }).toArray()).length;
      note(
        '$elemMatch {$gte,$lt} on scalar array',
        ids === 0 ? 'ok' : 'FAIL',
        ids === 0 ? '' : 'WRONG RESULT: [3,12] matched {$elemMatch:{$gte:5,$lt:10}} (conditions applied to different elements)',
      );
    } catch (e) {
      note('$elemMatch {$gte,$lt} on scalar array', 'unsupported', describeError(e));
    }

    // 3. what works everywhere (hard requirements): dotted path into arrays, composite string keys
    const any = await c.countDocuments({ 'idx.ref.r': 'Patient/1' });
    t.equal(any, 21, 'dotted path into array of subdocuments matches any element');
    const byKey = await c.find({ type: 'Observation', keys: 'subject|Patient/1' }, { projection: { id: 1, _id: 0 } }).toArray();
    t.equal(byKey.length, expected, 'composite string key equality in a multikey array');
    t.notOk(byKey.some((h) => h.id === 'decoy'), 'composite key does not match the decoy');
    const byIn = await c.countDocuments({ keys: { $in: ['subject|Patient/1', 'subject|Patient/2'] } });
    t.equal(byIn, 40, 'composite keys with $in');
    const byPrefix = await c.countDocuments({ type: 'Observation', keys: { $regex: '^subject\\|Patient/' } });
    t.equal(byPrefix, 100, 'composite keys with ^prefix regex');
    note(
      'dotted path / composite string keys',
      t.passing() ? 'ok' : 'FAIL',
      `idx.ref.r any-element=${any}, keys eq=${byKey.length}, $in=${byIn}, ^regex=${byPrefix}`,
    );

    // 4. explain: is any index used?
    const explainOf = async (label: string, filter: Document): Promise<void> => {
      try {
        const ex = await c.find(filter).explain('queryPlanner');
        const plan = ex.queryPlanner ?? ex;
        const text = JSON.stringify(plan);
        const usesIndex = /IXSCAN|USING (COVERING )?INDEX|type_ref|type_keys/i.test(text);
        const push = ['filterPushdown', 'sortPushdown', 'limitPushdown', 'pushdown']
          .filter((k) => k in ex)
          .map((k) => `${k}=${String(ex[k])}`)
          .join(' ');
        note(`explain ${label}`, 'info', `${usesIndex ? 'uses an index' : 'NO index use'}; ${push} plan=${brief(plan, 160)}`);
      } catch (e) {
        note(`explain ${label}`, 'unsupported', describeError(e));
      }
    };
    await explainOf('{type, keys}', { type: 'Observation', keys: 'subject|Patient/1' });
    await explainOf('{_id}', { _id: docs[0]._id });
  });

  t.test('$in with many values', async (t) => {
    const c = db.collection('many');
    const n = 2000;
    await c.insertMany(Array.from({ length: n }, (_, i) => ({ _id: `id${i}`, n: i }) as Document));
    const wanted = Array.from({ length: 1000 }, (_, i) => `id${i * 2}`);
    const t0 = Date.now();
    const got = await c.countDocuments({ _id: { $in: wanted } } as Document);
    const ms = Date.now() - t0;
    t.equal(got, 1000, '$in with 1000 values on _id');
    const ints = await c.find({ n: { $in: Array.from({ length: 5000 }, (_, i) => i * 3) } }).toArray();
    t.equal(ints.length, Math.ceil(n / 3), '$in with 5000 numbers');
    note('$in (1000 ids, 5000 numbers)', t.passing() ? 'ok' : 'FAIL', `1000-id count took ${ms} ms`);
  });

  t.test('sort on two keys, skip/limit', async (t) => {
    const c = db.collection('sorted');
    const docs = Array.from({ length: 50 }, (_, i) => ({ a: i % 5, b: `k${String(i).padStart(2, '0')}`, i }));
    await c.insertMany(docs);
    const got = await c.find({}, { projection: { _id: 0, a: 1, b: 1 } }).sort({ a: 1, b: -1 }).skip(3).limit(10).toArray();
    const exp = docs
      .map(({ a, b }) => ({ a, b }))
      .sort((x, y) => x.a - y.a || (x.b < y.b ? 1 : x.b > y.b ? -1 : 0))
      .slice(3, 13);
    t.same(got, exp, 'sort {a:1,b:-1} with skip 3 limit 10');
    // sort on a dotted path with missing values
    await c.insertOne({ a: -1 });
    const first = await c.find({}).sort({ b: 1, a: 1 }).limit(1).toArray();
    t.equal(first[0]?.a, -1, 'documents missing the sort key sort first (ascending)');
    note('sort on two keys + skip/limit', t.passing() ? 'ok' : 'FAIL');
  });

  t.test('findOneAndUpdate with upsert', async (t) => {
    const c = db.collection('counters');
    const r1 = await c.findOneAndUpdate(
      { _id: 'Patient/x' } as Document,
      { $inc: { v: 1 }, $setOnInsert: { created: 'now' } },
      { upsert: true, returnDocument: 'after' },
    );
    t.same(r1, { _id: 'Patient/x', v: 1, created: 'now' }, 'upsert creates and returns the new doc');
    const r2 = await c.findOneAndUpdate(
      { _id: 'Patient/x' } as Document,
      { $inc: { v: 1 }, $setOnInsert: { created: 'again' } },
      { upsert: true, returnDocument: 'before' },
    );
    t.same(r2, { _id: 'Patient/x', v: 1, created: 'now' }, 'returnDocument before');
    const r3 = await c.findOneAndUpdate(
      { _id: 'Patient/x' } as Document,
      { $set: { done: true } },
      { returnDocument: 'after', includeResultMetadata: true },
    );
    t.equal(r3.value?.v, 2, '$inc applied, $setOnInsert ignored on update');
    t.equal(r3.ok, 1, 'includeResultMetadata ok');
    note('findOneAndUpdate upsert', t.passing() ? 'ok' : 'FAIL', `lastErrorObject=${brief(r3.lastErrorObject)}`);
  });

  t.test('countDocuments / estimatedDocumentCount', async (t) => {
    const c = db.collection('many');
    t.equal(await c.countDocuments({ n: { $gte: 1500 } }), 500, 'countDocuments with filter');
    t.equal(await c.countDocuments({}, { skip: 10, limit: 100 }), 100, 'countDocuments with skip/limit');
    const est = await c.estimatedDocumentCount();
    t.equal(est, 2000, 'estimatedDocumentCount');
    note('countDocuments/estimatedDocumentCount', t.passing() ? 'ok' : 'FAIL');
  });

  t.test('query operators used by FHIR search', async (t) => {
    const c = db.collection('ops');
    await c.insertMany([
      { name: 'Smith', d: new Date('2024-01-05T00:00:00Z'), tags: ['a', 'b'], n: 1 },
      { name: 'smithers', d: new Date('2024-03-01T00:00:00Z'), tags: ['b'], n: 2 },
      { name: 'Jones', d: new Date('2023-12-31T23:59:59Z'), n: 3 },
    ]);
    const checks: [string, Document, number][] = [
      ['$regex ^prefix /i', { name: { $regex: '^smi', $options: 'i' } }, 2],
      ['$gte/$lt on Date', { d: { $gte: new Date('2024-01-01T00:00:00Z'), $lt: new Date('2024-02-01T00:00:00Z') } }, 1],
      ['$exists false', { tags: { $exists: false } }, 1],
      ['$all', { tags: { $all: ['a', 'b'] } }, 1],
      ['$or + $and', { $or: [{ n: 1 }, { $and: [{ n: { $gt: 1 } }, { name: 'Jones' }] }] }, 2],
      ['$nin', { n: { $nin: [1, 2] } }, 1],
      ['$ne on array', { tags: { $ne: 'a' } }, 2],
    ];
    const failed: string[] = [];
    for (const [label, filter, n] of checks) {
      try {
        const got = await c.countDocuments(filter);
        t.equal(got, n, label);
        if (got !== n) failed.push(`${label}: got ${got} expected ${n}`);
      } catch (e) {
        t.fail(`${label}: ${describeError(e)}`);
        failed.push(`${label}: ${describeError(e)}`);
      }
    }
    note('operators ($regex i, Date range, $exists, $all, $or, $nin, $ne)', failed.length ? 'FAIL' : 'ok', failed.join('; '));
    try {
      const n = await c.countDocuments({ name: 'smith' }, { collation: { locale: 'en', strength: 2 } });
      note('collation (case-insensitive equality)', n === 1 ? 'ok' : 'FAIL', n === 1 ? '' : `count=${n} (expected 1)`);
    } catch (e) {
      note('collation (case-insensitive equality)', 'unsupported', describeError(e));
    }
    try {
      const d = await c.distinct('tags');
      note('distinct', brief([...d].sort()) === '["a","b"]' ? 'ok' : 'FAIL', brief(d));
    } catch (e) {
      note('distinct', 'unsupported', describeError(e));
    }
  });

  t.test('aggregation stages (reported, not required)', async (t) => {
    const obs = db.collection('agg_obs');
    const pat = db.collection('agg_pat');
    await pat.insertMany([
      { _id: 'p1', name: 'A' },
      { _id: 'p2', name: 'B' },
    ] as Document[]);
    await obs.insertMany([
      { subject: 'p1', minutes: 10, codes: ['x', 'y'] },
      { subject: 'p1', minutes: 15, codes: ['x'] },
      { subject: 'p2', minutes: 7, codes: [] },
    ]);
    const stages: [string, Document[], (r: Document[]) => boolean][] = [
      ['$match', [{ $match: { subject: 'p1' } }], (r) => r.length === 2],
      [
        '$group',
        [{ $group: { _id: '$subject', total: { $sum: '$minutes' }, n: { $sum: 1 } } }],
        (r) => r.find((x) => x._id === 'p1')?.total === 25 && r.length === 2,
      ],
      ['$sort', [{ $sort: { minutes: -1 } }], (r) => r.map((x) => x.minutes).join() === '15,10,7'],
      [
        '$lookup',
        [{ $lookup: { from: 'agg_pat', localField: 'subject', foreignField: '_id', as: 'pat' } }],
        (r) => r.length === 3 && r.every((x) => Array.isArray(x.pat) && x.pat.length === 1),
      ],
      ['$unwind', [{ $unwind: '$codes' }], (r) => r.length === 3],
      [
        '$project (inclusion + field path)',
        [{ $project: { _id: 0, subject: 1, m: '$minutes' } }],
        (r) => r.length === 3 && r.every((x) => Object.keys(x).sort().join() === 'm,subject'),
      ],
      ['$project with $multiply', [{ $project: { _id: 0, m2: { $multiply: ['$minutes', 2] } } }], (r) => r.some((x) => x.m2 === 30)],
      [
        '$facet',
        [{ $facet: { total: [{ $count: 'n' }], top: [{ $sort: { minutes: -1 } }, { $limit: 1 }] } }],
        (r) => r[0]?.total?.[0]?.n === 3 && r[0]?.top?.[0]?.minutes === 15,
      ],
      ['$count', [{ $count: 'n' }], (r) => r[0]?.n === 3],
      ['$skip/$limit', [{ $sort: { minutes: 1 } }, { $skip: 1 }, { $limit: 1 }], (r) => r[0]?.minutes === 10],
      ['$addFields (literal/field path)', [{ $addFields: { s: '$subject', k: 'x' } }], (r) => r.every((x) => x.s === x.subject && x.k === 'x')],
      ['$addFields with $divide', [{ $addFields: { h: { $divide: ['$minutes', 60] } } }], (r) => r.length === 3 && typeof r[0]?.h === 'number'],
      ['$unset', [{ $unset: ['codes', 'minutes'] }], (r) => r.every((x) => !('codes' in x) && !('minutes' in x))],
      ['$replaceRoot', [{ $replaceRoot: { newRoot: { s: '$subject' } } }], (r) => r.length === 3 && r.every((x) => typeof x.s === 'string')],
      ['$sortByCount', [{ $sortByCount: '$subject' }], (r) => r[0]?._id === 'p1' && r[0]?.count === 2],
      [
        'match+group+sort (minutes per patient)',
        [
          { $match: { minutes: { $gt: 0 } } },
          { $group: { _id: '$subject', total: { $sum: '$minutes' } } },
          { $sort: { total: -1 } },
        ],
        (r) => r.map((x) => `${String(x._id)}=${String(x.total)}`).join() === 'p1=25,p2=7',
      ],
    ];
    const works: string[] = [];
    for (const [label, pipeline, check] of stages) {
      try {
        const r = await obs.aggregate(pipeline).toArray();
        if (check(r)) {
          works.push(label);
          note(`aggregate ${label}`, 'ok');
        } else {
          note(`aggregate ${label}`, 'FAIL', `wrong result, first doc: ${brief(r[0], 200)}`);
        }
      } catch (e) {
        note(`aggregate ${label}`, 'unsupported', describeError(e));
      }
    }
    t.ok(works.includes('$match'), 'at least $match works');

    // $group accumulators, one by one (expected values for subject p1: minutes 10, 15)
    const accumulators: [string, Document, unknown][] = [
      ['$sum', { $sum: '$minutes' }, 25],
      ['$count', { $count: {} }, 2],
      ['$min', { $min: '$minutes' }, 10],
      ['$max', { $max: '$minutes' }, 15],
      ['$avg', { $avg: '$minutes' }, 12.5],
      ['$push', { $push: '$minutes' }, [10, 15]],
      ['$addToSet', { $addToSet: '$subject' }, ['p1']],
      ['$first', { $first: '$minutes' }, 10],
      ['$last', { $last: '$minutes' }, 15],
    ];
    const accOk: string[] = [];
    const accBad: string[] = [];
    for (const [name, expr, want] of accumulators) {
      try {
        const r = await obs
          .aggregate([{ $match: { subject: 'p1' } }, { $sort: { minutes: 1 } }, { $group: { _id: '$subject', v: expr } }])
          .toArray();
        if (brief(r[0]?.v) === brief(want)) accOk.push(name);
        else accBad.push(`${name} (wrong: ${brief(r[0]?.v)})`);
      } catch (e) {
        const code = e instanceof MongoServerError ? String(e.codeName ?? e.code) : 'error';
        accBad.push(`${name} (${code})`);
      }
    }
    note('$group accumulators', accBad.length ? 'info' : 'ok', `work: ${accOk.join(' ') || '-'}; not: ${accBad.join(' ') || '-'}`);
  });

  t.test('multi-document transactions (reported, not required)', async (t) => {
    const c = db.collection('tx');
    await c.insertOne({ _id: 'seed' } as Document); // collection must exist before a transaction
    // 1. withTransaction
    const session = client.startSession();
    let txError: unknown;
    try {
      await session.withTransaction(async () => {
        await c.insertOne({ _id: 'tx1' } as Document, { session });
        await c.insertOne({ _id: 'tx2' } as Document, { session });
      });
    } catch (e) {
      txError = e;
    } finally {
      await session.endSession().catch(() => undefined);
    }
    const committed = await c.countDocuments({ _id: { $in: ['tx1', 'tx2'] } } as Document);
    note(
      'transactions: withTransaction',
      txError ? 'unsupported' : 'ok',
      txError ? `${describeError(txError)}; docs written anyway: ${committed}/2` : `committed ${committed}/2`,
    );

    // 2. abort must roll back
    const s2 = client.startSession();
    let abortDetail = '';
    try {
      s2.startTransaction();
      await c.insertOne({ _id: 'tx3' } as Document, { session: s2 });
      await s2.abortTransaction();
      const leaked = await c.countDocuments({ _id: 'tx3' } as Document);
      abortDetail = leaked ? 'ABORTED WRITE IS VISIBLE (no rollback!)' : 'rolled back';
      note('transactions: abort rolls back', leaked ? 'FAIL' : 'ok', abortDetail);
    } catch (e) {
      const leaked = await c.countDocuments({ _id: 'tx3' } as Document);
      note('transactions: abort rolls back', 'unsupported', `${describeError(e)}; write visible afterwards: ${leaked ? 'yes' : 'no'}`);
    } finally {
      await s2.endSession().catch(() => undefined);
    }

    // 3. sessions without transactions (causal consistency / retryable writes) should just work
    const s3 = client.startSession();
    try {
      await c.insertOne({ _id: 'sess1' } as Document, { session: s3 });
      const got = await c.findOne({ _id: 'sess1' } as Document, { session: s3 });
      note('sessions (no transaction)', got ? 'ok' : 'FAIL');
    } catch (e) {
      note('sessions (no transaction)', 'unsupported', describeError(e));
    } finally {
      await s3.endSession().catch(() => undefined);
    }
    t.pass('transaction behaviour recorded');
  });

  t.test('bulkWrite mixed operations', async (t) => {
    const c = db.collection('bulk');
    try {
      const r = await c.bulkWrite(
        [
          { insertOne: { document: { _id: 'b1', v: 1 } as Document } },
          { updateOne: { filter: { _id: 'b1' } as Document, update: { $set: { v: 2 } } } },
          { replaceOne: { filter: { _id: 'b2' } as Document, replacement: { v: 9 }, upsert: true } },
          { deleteOne: { filter: { _id: 'nope' } as Document } },
        ],
        { ordered: true },
      );
      t.equal(r.insertedCount, 1, 'inserted');
      t.equal(r.modifiedCount, 1, 'modified');
      t.equal(r.upsertedCount, 1, 'upserted');
      note('bulkWrite (ordered, mixed)', t.passing() ? 'ok' : 'FAIL');
    } catch (e) {
      t.fail(describeError(e));
      note('bulkWrite (ordered, mixed)', 'FAIL', describeError(e));
    }
  });
}
