// A validation worker: its own validator, built from the same options, answering batches.
import { parentPort, workerData } from 'node:worker_threads';
import { createValidator, type ValidateCallOptions, type ValidatorOptions } from './validator.js';
import { parseJson } from '../fhir/json-decimals.js';

const validator = await createValidator(workerData as ValidatorOptions);
parentPort!.on('message', (msg: { id: number; opts?: ValidateCallOptions; resources: Array<{ text?: string; value?: unknown }> }) => {
  try {
    parentPort!.postMessage({ id: msg.id, results: msg.resources.map((r) => validator.validate(r.text !== undefined ? parseJson(r.text) : r.value, msg.opts)) });
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, error: (e as Error).message });
  }
});
parentPort!.postMessage({ ready: true });
