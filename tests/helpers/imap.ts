import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

/**
 * A real IMAP server for tests: Debian's dovecot (package dovecot-imapd; .ci/run installs it),
 * started in the foreground with its own configuration, mail and logs in a temporary folder,
 * plain-text login on loopback, one mailbox user.
 */
export interface TestImapServer {
  port: number;
  user: string;
  password: string;
  url: string;
  close(): Promise<void>;
}

export const DOVECOT = "/usr/sbin/dovecot";

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

export async function startImapServer(): Promise<TestImapServer> {
  if (!fs.existsSync(DOVECOT))
    throw new Error("dovecot is not installed: apt-get install dovecot-imapd (.ci/run does it)");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dovecot-"));
  fs.chmodSync(dir, 0o755);
  for (const sub of ["run", "state", "mail", "home"]) fs.mkdirSync(path.join(dir, sub));
  fs.chmodSync(path.join(dir, "mail"), 0o777);
  fs.chmodSync(path.join(dir, "home"), 0o777);
  const port = await freePort();
  const user = "bounces";
  const password = "imap-test-password";
  fs.writeFileSync(path.join(dir, "users"), `${user}:{PLAIN}${password}::::::\n`);
  fs.writeFileSync(
    path.join(dir, "dovecot.conf"),
    `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
first_valid_uid = 1
first_valid_gid = 1
auth_mechanisms = plain login
mail_location = maildir:${dir}/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=${dir}/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
  chroot =
}
service anvil {
  chroot =
}
`,
  );
  const child: ChildProcess = spawn(DOVECOT, ["-F", "-c", path.join(dir, "dovecot.conf")], { stdio: "ignore" });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (open) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      const log = fs.existsSync(path.join(dir, "dovecot.log"))
        ? fs.readFileSync(path.join(dir, "dovecot.log"), "utf8")
        : "";
      child.kill("SIGTERM");
      throw new Error(`dovecot did not start: ${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    user,
    password,
    url: `imap://${user}:${password}@127.0.0.1:${port}/INBOX`,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
