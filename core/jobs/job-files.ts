// Files a job leaves beside the job history (<home>/job-files/<jobId>/): what a backup skipped, and
// what its pre and post commands printed. Private to the account, as the history is.
import { appendFile, chmod, open } from 'node:fs/promises';
import { join } from 'node:path';
import { HOME_DIR_MODE, HOME_FILE_MODE, homeDir } from '../config/home.js';
import { makeDirs } from '../fs/make-dirs.js';

/** The files a job can have: `skipped.txt` (one line per skipped path), `commands.log` (hook output). */
export type JobFileName = 'skipped.txt' | 'commands.log';

/** The folder of one job's files. */
export function jobFilesDir(jobId: string): string {
  if (!/^[0-9A-Za-z-]+$/.test(jobId)) throw new Error(`not a job id: ${jobId}`);
  return join(homeDir(), 'job-files', jobId);
}

/** The path of one file of a job (it need not exist). */
export function jobFilePath(jobId: string, name: JobFileName): string {
  return join(jobFilesDir(jobId), name);
}

/** Appends text to a job's file, creating the folder (0700) and the file (0600) when missing. */
export async function appendJobFile(jobId: string, name: JobFileName, text: string | Buffer): Promise<string> {
  const dir = jobFilesDir(jobId);
  await makeDirs(dir, HOME_DIR_MODE);
  const path = join(dir, name);
  const fh = await open(path, 'a', HOME_FILE_MODE);
  await fh.close();
  if (process.platform !== 'win32') await chmod(path, HOME_FILE_MODE);
  await appendFile(path, text);
  return path;
}
