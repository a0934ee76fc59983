#[graceful::task]
struct Ticker;
