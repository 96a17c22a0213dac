// jest only reads testTimeout from the top-level config, not from a project;
// integration tests talk to real processes and get a longer default here.
import { jest } from '@jest/globals';

jest.setTimeout(120_000);
