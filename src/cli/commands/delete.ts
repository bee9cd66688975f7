import { printJson } from '../output.js';
import { type Command, singleId } from './command.js';

export const remove: Command = {
  name: 'delete',
  summary: 'delete an execution (cancelling it first)',
  usage: `ID

Deletes the execution: a running job is cancelled first, then its files and its record go.`,
  options: {},
  async run(context) {
    const id = singleId(context);
    await context.client.deleteExecution(id);
    if (context.json) printJson({ id, deleted: true });
    else process.stdout.write(`${id} deleted\n`);
    return 0;
  },
};
