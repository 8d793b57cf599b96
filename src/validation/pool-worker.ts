// A validation worker: its own validator, built from the same options, answering batches.
import { parentPort, workerData } from 'node:worker_threads';
import { createValidator, type ValidatorOptions } from './validator.js';

const validator = await createValidator(workerData as ValidatorOptions);
parentPort!.on('message', (msg: { id: number; resources: unknown[] }) => {
  try {
    parentPort!.postMessage({ id: msg.id, results: msg.resources.map((r) => validator.validate(r)) });
  } catch (e) {
    parentPort!.postMessage({ id: msg.id, error: (e as Error).message });
  }
});
parentPort!.postMessage({ ready: true });
