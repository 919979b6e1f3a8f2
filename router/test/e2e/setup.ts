// Jest takes `testTimeout` from the global config only, so the e2e project's own setting does not
// reach its tests and hooks (startStack brings up six subgraphs and the router in beforeAll). This
// applies it to every e2e file; a file may still set a longer one (faults.e2e.test.ts).
jest.setTimeout(60_000);
