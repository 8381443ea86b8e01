#!/usr/bin/env node
// A committed launcher, so the workspace can link the bin before the first build exists.
import '../dist/bin.js';
