// Starts `caveat lsp` for .policy files (the setting `caveat.path` names the executable).
'use strict';
const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration('caveat').get('path') || 'caveat';
  const server = { command, args: ['lsp'] };
  client = new LanguageClient(
    'caveat',
    'caveat',
    { run: server, debug: server },
    { documentSelector: [{ scheme: 'file', language: 'caveat' }] }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
