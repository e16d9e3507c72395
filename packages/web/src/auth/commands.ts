import type { CommandDefinition } from '@tip/core';
import type { WebAuth, WebScope } from './WebAuth.js';

const when = (t: number | null) => (t === null ? '-' : new Date(t).toISOString().replace('.000', ''));

/** Left-aligned columns, two spaces apart; the first row is the header. */
function table(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n')}\n`;
}

function scopeValue(value: unknown, err: (t: string) => void): WebScope | undefined {
  if (value === 'read' || value === 'admin') return value;
  err(`error: --scope must be "read" or "admin" (got "${String(value)}")\n`);
  return undefined;
}

/** Reads standard input to its end (at most 4 KiB), without the trailing newline. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > 4096) throw new Error('--password-stdin: standard input is longer than 4096 bytes');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** `tip web token create|list|revoke` and `tip web user add|remove|list`. */
export function webCommands(auth: () => WebAuth): CommandDefinition[] {
  return [
    {
      name: 'web token',
      mode: 'run',
      summary: 'manage API tokens of the web server: create --name <name> --scope read|admin (prints the token once), list, revoke <id>',
      args: '<create|list|revoke> [id]',
      options: {
        name: { type: 'string', valueName: '<name>', description: 'create: a name to recognise the token by' },
        scope: { type: 'string', valueName: '<scope>', default: 'read', description: 'create: read (queries) or admin (also writes and triggers)' },
        json: { type: 'boolean', description: 'list: print JSON' },
      },
      async run({ values, positionals, out, err }) {
        const [action, id] = positionals;
        if (action === 'create') {
          if (typeof values.name !== 'string' || values.name.trim() === '') {
            err('error: tip web token create needs --name <name>\n');
            return 2;
          }
          const scope = scopeValue(values.scope, err);
          if (!scope) return 2;
          const created = await auth().createToken({ name: values.name, scope });
          err(`created token ${created.id} "${created.name}" (scope ${created.scope}); it is shown only now: store it\n`);
          out(`${created.token}\n`);
          return 0;
        }
        if (action === 'list') {
          const tokens = await auth().listTokens();
          if (values.json) out(`${JSON.stringify(tokens, null, 2)}\n`);
          else out(table([['id', 'name', 'scope', 'created', 'last used', 'revoked'], ...tokens.map((t) => [t.id, t.name, t.scope, when(t.createdAt), when(t.lastUsedAt), when(t.revokedAt)])]));
          return 0;
        }
        if (action === 'revoke') {
          if (!id) {
            err('error: tip web token revoke needs the token id (see "tip web token list")\n');
            return 2;
          }
          if (!(await auth().revokeToken(id))) {
            err(`error: no valid token "${id}" (see "tip web token list")\n`);
            return 1;
          }
          err(`revoked token ${id}\n`);
          return 0;
        }
        err(`error: tip web token needs an action: create, list or revoke (got "${action ?? ''}")\n`);
        return 2;
      },
    },
    {
      name: 'web user',
      mode: 'run',
      summary: 'manage UI users: add <name> --scope read|admin [--password-stdin] (else a password is generated and printed), remove <name>, list',
      args: '<add|remove|list> [name]',
      options: {
        scope: { type: 'string', valueName: '<scope>', default: 'read', description: 'add: read or admin' },
        'password-stdin': { type: 'boolean', description: 'add: read the password from standard input (else one is generated and printed)' },
        json: { type: 'boolean', description: 'list: print JSON' },
      },
      async run({ values, positionals, out, err }) {
        const [action, name] = positionals;
        if (action === 'add') {
          if (!name) {
            err('error: tip web user add needs a user name\n');
            return 2;
          }
          const scope = scopeValue(values.scope, err);
          if (!scope) return 2;
          const password = values['password-stdin'] ? await readStdin() : undefined;
          const user = await auth().createUser({ name, scope, password });
          err(`added user ${user.name} (scope ${user.scope})\n`);
          if (password === undefined) out(`password: ${user.password}\n`);
          return 0;
        }
        if (action === 'remove') {
          if (!name) {
            err('error: tip web user remove needs a user name\n');
            return 2;
          }
          if (!(await auth().removeUser(name))) {
            err(`error: no user "${name}"\n`);
            return 1;
          }
          err(`removed user ${name} and its sessions\n`);
          return 0;
        }
        if (action === 'list') {
          const users = await auth().listUsers();
          if (values.json) out(`${JSON.stringify(users, null, 2)}\n`);
          else out(table([['name', 'scope', 'created'], ...users.map((u) => [u.name, u.scope, when(u.createdAt)])]));
          return 0;
        }
        err(`error: tip web user needs an action: add, remove or list (got "${action ?? ''}")\n`);
        return 2;
      },
    },
  ];
}
