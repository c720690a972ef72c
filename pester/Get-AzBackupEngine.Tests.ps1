BeforeAll {
    . (Join-Path $PSScriptRoot 'helpers/TestHelpers.ps1')
    Import-AzBackupTestModule
    $script:dir = New-TestDirectory
    $script:savedEngine = $env:AZBACKUP_ENGINE
}
AfterAll {
    $env:AZBACKUP_ENGINE = $script:savedEngine
    Remove-Item -LiteralPath $script:dir -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Get-AzBackupEngine' {
    AfterEach { $env:AZBACKUP_ENGINE = $script:savedEngine }

    It 'finds the built engine and reports its versions' {
        $engine = Get-AzBackupEngine
        $engine.PSObject.TypeNames[0] | Should -Be 'AzBackup.EngineInfo'
        $engine.Path | Should -Exist
        $engine.ProtocolVersion | Should -Be 1
        $engine.NodeVersion | Should -Match '^v24\.'
        $engine.EngineVersion | Should -Be (Get-Content (Join-Path $PSScriptRoot '../package.json') -Raw | ConvertFrom-Json).version
    }

    It 'uses $env:AZBACKUP_ENGINE when set' {
        $env:AZBACKUP_ENGINE = New-FakeEngine -Directory $dir
        (Get-AzBackupEngine).EngineVersion | Should -Be '0.0.0-fake'
    }

    It 'refuses an engine whose protocol version it does not know' {
        $env:AZBACKUP_ENGINE = New-FakeEngine -Directory $dir -ProtocolVersion 99
        $err = { Get-AzBackupEngine -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_ENGINE_PROTOCOL_UNSUPPORTED,Get-AzBackupEngine' -PassThru
        $err.Exception.Message | Should -BeLike '*protocol version 99*'
    }

    It 'says clearly when the engine is missing' {
        $env:AZBACKUP_ENGINE = Join-Path $dir 'no-such-engine'
        $err = { Get-AzBackupEngine -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_ENGINE_NOT_FOUND,Get-AzBackupEngine' -PassThru
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err.ErrorDetails.RecommendedAction | Should -BeLike '*AZBACKUP_ENGINE*'
    }

    It 'finds an installed engine on PATH when the module has none beside it, and says how to install one when there is none' {
        # A copy of the module with no bin folder and no build output next to it: an installed module.
        $installed = Join-Path $dir 'installed'
        $null = New-Item -ItemType Directory -Path $installed
        Copy-Item -Recurse -LiteralPath (Join-Path $PSScriptRoot '../module') -Destination (Join-Path $installed 'module')
        Copy-Item -Recurse -LiteralPath (Join-Path $PSScriptRoot '../cmdlets') -Destination (Join-Path $installed 'cmdlets')
        $bin = Join-Path $dir 'bin'
        $null = New-Item -ItemType Directory -Path $bin
        Move-Item -LiteralPath (New-FakeEngine -Directory $dir) -Destination (Join-Path $bin 'azbackup')
        $self = Get-TestPwshCommand
        $probe = "Import-Module '$(Join-Path $installed 'module/AzBackup.psd1')'; try { (Get-AzBackupEngine -ErrorAction Stop).Path } catch { `$_.ErrorDetails.RecommendedAction }"
        $savedPath = $env:PATH
        $env:AZBACKUP_ENGINE = $null
        try {
            $env:PATH = "$bin$([IO.Path]::PathSeparator)$savedPath"
            (& $self[0] @($self | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $probe | Out-String).Trim() | Should -Be (Join-Path $bin 'azbackup')
            $env:PATH = $savedPath
            $hint = (& $self[0] @($self | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $probe | Out-String).Trim()
            $hint | Should -Match 'Install the engine with the module'
            $hint | Should -Match 'AZBACKUP_ENGINE'
        } finally { $env:PATH = $savedPath }
    }

    It 'says clearly when the file is not an engine' {
        $notEngine = Join-Path $dir 'not-an-engine.sh'
        Set-Content -LiteralPath $notEngine -Value "#!/bin/sh`necho hello"
        chmod +x $notEngine
        $env:AZBACKUP_ENGINE = $notEngine
        { Get-AzBackupEngine -ErrorAction Stop } | Should -Throw -ErrorId 'AZB_ENGINE_UNUSABLE,Get-AzBackupEngine'
    }
}
