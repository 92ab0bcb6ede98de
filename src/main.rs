fn main() -> std::process::ExitCode {
    piaojue::cli::run()
}
