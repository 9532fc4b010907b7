import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceError } from '@temporalio/client';
import { NamespaceNotFoundError } from '@temporalio/common';
import { CliError, explainError, refused, rootMessage } from '../../cli/errors.js';
import {
  DEFAULT_ADDRESS,
  loadTemporalTarget,
  summarizeConnectError,
  TemporalConfigError,
  TemporalUnreachableError,
} from '../../worker/connection.js';

const noConfigFile = { TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' };
const target = { address: '127.0.0.1:7233', namespace: 'default' };

describe('loadTemporalTarget', () => {
  it('defaults to the local dev server and the default namespace', () => {
    const loaded = loadTemporalTarget(noConfigFile);
    expect(loaded).toMatchObject({ address: DEFAULT_ADDRESS, namespace: 'default' });
    expect(loaded.connectionOptions.address).toBe(DEFAULT_ADDRESS);
    expect(loaded.connectionOptions.tls).toBeUndefined();
  });

  it('reads the standard TEMPORAL_* variables; an API key turns TLS on', () => {
    const loaded = loadTemporalTarget({ ...noConfigFile, TEMPORAL_ADDRESS: '127.0.0.1:7999', TEMPORAL_NAMESPACE: 'platform', TEMPORAL_API_KEY: 'k' });
    expect(loaded).toMatchObject({ address: '127.0.0.1:7999', namespace: 'platform' });
    expect(loaded.connectionOptions).toMatchObject({ apiKey: 'k', tls: true });
  });

  it('reads a named profile from the config file, with environment variables taking precedence', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'istio-canary-cli-')), 'temporal.toml');
    writeFileSync(file, '[profile.staging]\naddress = "127.0.0.1:7888"\nnamespace = "staging"\n');
    expect(loadTemporalTarget({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging' })).toMatchObject({ address: '127.0.0.1:7888', namespace: 'staging' });
    expect(loadTemporalTarget({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging', TEMPORAL_NAMESPACE: 'other' })).toMatchObject({ namespace: 'other' });
  });

  it('turns an unknown profile into a configuration error', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'istio-canary-cli-')), 'temporal.toml');
    writeFileSync(file, '[profile.default]\naddress = "127.0.0.1:7888"\n');
    expect(() => loadTemporalTarget({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'nope' })).toThrow(TemporalConfigError);
  });
});

describe('summarizeConnectError', () => {
  it('extracts the OS reason from the native client transport error', () => {
    const err = new Error(
      'tonic::transport::Error(Transport, ConnectError(ConnectError("tcp connect error", 127.0.0.1:1, Os { code: 111, kind: ConnectionRefused, message: "Connection refused" })))',
    );
    expect(summarizeConnectError(err)).toBe('connection refused');
  });

  it('names DNS failures and timeouts, and falls back to the first line', () => {
    expect(summarizeConnectError(new Error('dns error: failed to lookup address information'))).toBe('unknown host');
    expect(summarizeConnectError(new Error('operation timed out'))).toBe('timed out');
    expect(summarizeConnectError(new Error('something odd\nstack'))).toBe('something odd');
  });
});

describe('explainError', () => {
  it('prints an unreachable server as one line with exit 1', () => {
    expect(explainError(new TemporalUnreachableError(target, 'connection refused'))).toEqual({
      line: 'cannot reach Temporal at 127.0.0.1:7233 (namespace default): connection refused',
      exitCode: 1,
    });
  });

  it('keeps CLI errors as they are, with their exit code', () => {
    expect(explainError(refused('refused: not waiting for an approval'))).toEqual({ line: 'refused: not waiting for an approval', exitCode: 2 });
    expect(explainError(new CliError('no worker answered', 1))).toEqual({ line: 'no worker answered', exitCode: 1 });
  });

  it('refuses an unknown namespace and a bad configuration with exit 2', () => {
    expect(explainError(new NamespaceNotFoundError('nope'), target)).toEqual({
      line: "namespace nope not found on Temporal at 127.0.0.1:7233 (set TEMPORAL_NAMESPACE or the profile's namespace)",
      exitCode: 2,
    });
    expect(explainError(new TemporalConfigError('invalid Temporal client configuration: x')).exitCode).toBe(2);
  });

  it('says how to register a missing search attribute', () => {
    const err = new ServiceError('Failed to start Workflow', {
      cause: new Error('Namespace default has no mapping defined for search attribute IstioCanaryPhase'),
    });
    expect(explainError(err, target).line).toBe(
      'search attribute IstioCanaryPhase is not registered in namespace default: temporal operator search-attribute create --name IstioCanaryPhase --type Keyword',
    );
  });

  it('reports a dropped connection as unreachable and anything else as one error line with exit 1', () => {
    const dropped = new ServiceError('Failed to query Workflow', { cause: Object.assign(new Error('transport is closing'), { code: 14 }) });
    expect(explainError(dropped, target)).toEqual({ line: 'cannot reach Temporal at 127.0.0.1:7233 (namespace default): transport is closing', exitCode: 1 });
    expect(explainError(new Error('boom\n    at x'))).toEqual({ line: 'error: boom', exitCode: 1 });
  });
});

describe('rootMessage', () => {
  it('prefers the innermost message over the SDK wrapper', () => {
    expect(rootMessage(new Error('Workflow Update failed', { cause: new Error('not waiting for an approval') }))).toBe('not waiting for an approval');
    expect(rootMessage(new Error('outer', { cause: new Error('') }))).toBe('outer');
    expect(rootMessage('plain')).toBe('plain');
  });
});
