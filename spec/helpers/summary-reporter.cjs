// Mocha's spec output plus a machine-readable tally: each run appends {passed, failed, pending} to the file
// named by TEST_TALLY_FILE, so scripts/test.sh can close with one "N passed, N failed" line over all stages.
'use strict';
const fs = require('node:fs');
const Mocha = require('mocha');

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once('end', () => {
      const file = process.env.TEST_TALLY_FILE;
      if (!file) return;
      const s = runner.stats || {};
      const line = JSON.stringify({
        suite: process.env.TEST_STAGE || 'mocha',
        passed: s.passes || 0,
        failed: s.failures || 0,
        pending: s.pending || 0,
      });
      fs.appendFileSync(file, line + '\n');
    });
  }
}

module.exports = SummaryReporter;
