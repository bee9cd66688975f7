import { printJson } from '../output.js';
import { type Command, singleId, statusOf } from './command.js';

export const cancel: Command = {
  name: 'cancel',
  summary: 'cancel a running execution',
  usage: `ID

Asks Oasis to stop the execution (it ends KILLED). Cancelling a finished execution is a no-op.`,
  options: {},
  async run(context) {
    const id = singleId(context);
    await context.client.cancelExecution(id);
    const execution = await context.client.getExecution(id);
    if (context.json) printJson(execution);
    else process.stdout.write(`${id} ${statusOf(execution)}\n`);
    return 0;
  },
};
