// Loading and saving models for the commands, and the checks on every path they write, made
// before any work so that a bad path costs nothing and nothing is written half-way.
import { accessSync, constants, existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { hasExternalData, internalizeExternalData } from '../onnx/external';
import { type LoadedModel, readModelFile, writeModelFile } from '../onnx/model-file';
import type { ModelProto } from '../onnx/proto';

export class UsageError extends Error {}

/** Reads a model with its external data folded in. */
export function loadModel(path: string): LoadedModel & { hadExternalData: boolean } {
  const loaded = readModelFile(path);
  const hadExternalData = hasExternalData(loaded.model);
  const model = hadExternalData ? internalizeExternalData(loaded.model, loaded.readExternal) : loaded.model;
  return { ...loaded, model, hadExternalData };
}

export const why = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'read-only file system';
  if (code === 'ENOSPC') return 'no space left on the device';
  if (code === 'ENOTDIR') return 'a part of the path is a file, not a folder';
  return code ?? (e as Error).message;
};

/** The nearest folder on the way to PATH that exists, or the first part of it that is a file. */
function nearestExisting(path: string): { dir: string; isDir: boolean } {
  let d = resolve(path);
  while (!existsSync(d)) d = dirname(d);
  return { dir: d, isDir: statSync(d).isDirectory() };
}

/** Missing folders are made at write time (every command does so); what exists must be a writable folder. */
function checkFolderPath(dir: string, what: string): void {
  const near = nearestExisting(dir);
  if (!near.isDir) throw new UsageError(`${what}: ${near.dir} is a file, not a folder`);
  try {
    accessSync(near.dir, constants.W_OK);
  } catch (e) {
    throw new UsageError(`${what}: cannot write in ${near.dir} (${why(e)})`);
  }
}

/** Whether two paths name one file (links followed where the files exist). */
export function samePath(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  return real(a) === real(b);
}

export interface OutputFileOptions {
  /** the flag that named it, for the messages (-o) */
  flag: string;
  /** files the command reads: writing over one needs force */
  inputs?: string[];
  force?: boolean;
}

/**
 * Checks, before any work, that a model can be written at PATH: a name ending in .onnx, not a
 * folder, not one of the command's inputs (unless --force), in a folder that exists and is
 * writable or can be made.
 */
export function checkOutputModel(path: string, options: OutputFileOptions): void {
  const flag = options.flag;
  if (!path) throw new UsageError(`${flag} needs a file name (an .onnx file to write)`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${flag} ${path}: is a folder, expected an .onnx file to write`);
  if (!path.endsWith('.onnx')) throw new UsageError(`${flag} ${path}: the output file must end in .onnx`);
  for (const input of options.inputs ?? []) {
    if (!options.force && existsSync(input) && samePath(input, path)) {
      throw new UsageError(`${flag} ${path}: is the input file; write elsewhere, or pass --force to replace it`);
    }
  }
  checkFolderPath(dirname(resolve(path)), `${flag} ${path}`);
  if (existsSync(path)) {
    try {
      accessSync(path, constants.W_OK);
    } catch (e) {
      throw new UsageError(`${flag} ${path}: cannot replace it (${why(e)})`);
    }
  }
}

/** Checks, before any work, that DIR is a folder that exists and is writable, or can be made. */
export function checkOutputFolder(dir: string, flag: string): void {
  if (!dir) throw new UsageError(`${flag} needs a folder name (where the outputs are written)`);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`${flag} ${dir}: is a file, expected a folder`);
  checkFolderPath(dir, `${flag} ${dir}`);
}

/** Makes the folders on the way to PATH's folder, with a clear error. */
export function makeFolder(dir: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new UsageError(`${what}: cannot create the folder ${dir} (${why(e)})`);
  }
}

/** Writes a model whole (missing folders made); a failure names the file and why, never a temporary file. */
export function saveModel(path: string, model: ModelProto, externalData: boolean, flag = '-o'): void {
  checkOutputModel(path, { flag, force: true });
  makeFolder(dirname(resolve(path)), `${flag} ${path}`);
  try {
    writeModelFile(path, model, externalData ? { externalData: {} } : {});
  } catch (e) {
    if (!(e as NodeJS.ErrnoException).code) throw e;
    throw new UsageError(`${flag} ${path}: cannot write it (${why(e)})`);
  }
}
