-- caveat for Neovim (0.10 or later): put this in your config, e.g. ~/.config/nvim/after/plugin/caveat.lua.
-- .policy files get the filetype `caveat`, and `caveat lsp` starts for them in the folder of the
-- nearest caveat.toml (or of the file).
vim.filetype.add({ extension = { policy = "caveat" } })

vim.api.nvim_create_autocmd("FileType", {
  pattern = "caveat",
  callback = function(args)
    vim.bo[args.buf].commentstring = "# %s"
    local root = vim.fs.root(args.buf, { "caveat.toml", ".git" })
      or vim.fs.dirname(vim.api.nvim_buf_get_name(args.buf))
    vim.lsp.start({
      name = "caveat",
      cmd = { "caveat", "lsp" },
      root_dir = root,
    })
  end,
})

-- With nvim-lspconfig instead, register it as a custom server:
--   local configs = require("lspconfig.configs")
--   configs.caveat = { default_config = {
--     cmd = { "caveat", "lsp" }, filetypes = { "caveat" },
--     root_dir = require("lspconfig.util").root_pattern("caveat.toml", ".git"),
--   } }
--   require("lspconfig").caveat.setup({})
