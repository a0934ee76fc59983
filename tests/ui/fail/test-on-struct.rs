#[graceful::test]
struct Fixture;

fn main() {}
